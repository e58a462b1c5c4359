/**
 * One ADS stream (one proxy connection), state of the world. The first request names the
 * node; then each request is judged by `shouldRespond`, and every new snapshot for the node
 * pushes, in PUSH_ORDER, each subscribed type whose version differs from the one sent.
 */
import type * as grpc from '@grpc/grpc-js';
import type { DiscoveryRequest } from '@minimesh/api';
import { structToJson } from '@minimesh/config';
import type { DiscoveryResponseOut } from '../ads-service.js';
import type { XdsLogger } from '../logger.js';
import { isWildcardType, isXdsType, PUSH_ORDER, type XdsTypeUrl } from '../type-urls.js';
import { shouldRespond } from './should-respond.js';
import type { Snapshot } from './snapshot.js';
import type { SnapshotCache } from './snapshot-cache.js';
import { newTypeStatus, type ProxySyncStatus, type TypeSyncStatus } from './sync-status.js';

export type AdsCall = grpc.ServerDuplexStream<DiscoveryRequest, DiscoveryResponseOut>;

/** What a stream reports to its server (for syncz, tests and benchmarks). */
export interface AdsStreamEvents {
  connect(status: ProxySyncStatus): void;
  disconnect(status: ProxySyncStatus): void;
  ack(status: ProxySyncStatus, typeUrl: XdsTypeUrl, version: string): void;
  nack(status: ProxySyncStatus, typeUrl: XdsTypeUrl, version: string, message: string): void;
  send(status: ProxySyncStatus, typeUrl: XdsTypeUrl, version: string): void;
}

interface TypeState {
  lastNonce: string | undefined;
  names: readonly string[] | undefined;
  /** Version of the last response sent, and the version sent with each nonce not yet answered. */
  sentVersion: string | undefined;
  status: TypeSyncStatus;
  /** Names refused to this stream (logged once each). */
  refused?: Set<string>;
}

export interface AdsStreamOptions {
  readonly streamId: number;
  readonly cache: SnapshotCache;
  readonly events: AdsStreamEvents;
  readonly log: XdsLogger;
  /** Prefix making nonces unique to this server process. */
  readonly noncePrefix: string;
  readonly controlPlaneId: string;
  readonly refuse?: ResourceRefusal;
}

/** Why `name` (of a by-name type) is not served to the proxy `node`; undefined: served. */
export type ResourceRefusal = (node: ProxySyncStatus, typeUrl: XdsTypeUrl, name: string) => string | undefined;

export class AdsStream {
  status: ProxySyncStatus | undefined;
  private readonly types = new Map<XdsTypeUrl, TypeState>();
  private unwatch: (() => void) | undefined;
  private nonceSeq = 0;
  private closed = false;

  constructor(
    private readonly call: AdsCall,
    private readonly o: AdsStreamOptions,
  ) {
    call.on('data', (req: DiscoveryRequest) => this.onRequest(req));
    call.on('end', () => this.close(true));
    call.on('error', () => this.close(false));
    call.on('cancelled', () => this.close(false));
  }

  private onRequest(req: DiscoveryRequest): void {
    if (this.closed) return;
    if (this.status === undefined) {
      const id = req.node?.id;
      if (!id) {
        this.o.log.warn({ peer: this.call.getPeer() }, 'ADS: first request without node.id, closing the stream');
        this.call.emit('error', { code: 3 /* INVALID_ARGUMENT */, details: 'the first DiscoveryRequest must carry node.id' });
        this.close(false);
        return;
      }
      this.status = {
        streamId: this.o.streamId,
        nodeId: id,
        cluster: req.node?.cluster ?? '',
        metadata: req.node?.metadata ? structToJson(req.node.metadata) : {},
        ...(req.node?.locality ? { locality: { region: req.node.locality.region ?? '', zone: req.node.locality.zone ?? '', sub_zone: req.node.locality.sub_zone ?? '' } } : {}),
        peer: this.call.getPeer(),
        connectedAt: new Date().toISOString(),
        types: {},
      };
      this.unwatch = this.o.cache.watch(id, (s) => this.onSnapshot(s));
      this.o.events.connect(this.status);
    }
    const typeUrl = req.type_url ?? '';
    if (!isXdsType(typeUrl)) {
      this.o.log.debug({ node: this.status.nodeId, typeUrl }, 'ADS: request for a type minimesh does not serve, ignored');
      return;
    }
    const st = this.typeState(typeUrl);
    const decision = shouldRespond(req, st);
    const now = new Date().toISOString();
    const names = req.resource_names ?? [];
    switch (decision.kind) {
      case 'stale':
        this.o.log.debug({ node: this.status.nodeId, typeUrl, nonce: req.response_nonce }, 'ADS: stale nonce ignored');
        return;
      case 'nack': {
        const message = req.error_detail?.message ?? '';
        st.status.lastNack = { version: st.sentVersion ?? '', nonce: req.response_nonce ?? '', message, at: now };
        this.o.log.warn({ node: this.status.nodeId, typeUrl, version: st.sentVersion, error: message }, 'ADS: NACK');
        this.o.events.nack(this.status, typeUrl, st.sentVersion ?? '', message);
        return;
      }
      case 'initial':
      case 'ack':
      case 'resubscribe':
        if (decision.kind !== 'initial' || req.version_info) {
          st.status.ackedVersion = req.version_info ?? '';
          st.status.ackedAt = now;
          if (decision.kind !== 'initial') this.o.events.ack(this.status, typeUrl, st.status.ackedVersion);
        }
        if (decision.respond) {
          st.names = names;
          st.status.resourceNames = names;
          const snap = this.o.cache.getSnapshot(this.status.nodeId);
          if (snap !== undefined) this.send(typeUrl, snap);
        }
    }
  }

  /** A new snapshot: push every subscribed type that changed, clusters and endpoints first. */
  private onSnapshot(snap: Snapshot): void {
    if (this.closed) return;
    for (const typeUrl of PUSH_ORDER) {
      const st = this.types.get(typeUrl);
      if (st?.names === undefined) continue; // not subscribed yet
      if (st.sentVersion !== snap.version(typeUrl)) this.send(typeUrl, snap);
    }
  }

  private send(typeUrl: XdsTypeUrl, snap: Snapshot): void {
    const st = this.typeState(typeUrl);
    const version = snap.version(typeUrl);
    // LDS/CDS with no names (or "*") are wildcard subscriptions; RDS/EDS get only what they name.
    const asked = (st.names ?? []).filter((n) => this.allowed(st, typeUrl, n));
    const names = isWildcardType(typeUrl) && asked.length === 0 ? 'all' : asked;
    const nonce = `${this.o.noncePrefix}-${this.o.streamId}-${++this.nonceSeq}`;
    const resources = snap.resources(typeUrl, names).map((r) => ({ type_url: typeUrl, value: r.bytes }));
    this.call.write({ version_info: version, resources, type_url: typeUrl, nonce, control_plane: { identifier: this.o.controlPlaneId } });
    st.lastNonce = nonce;
    st.sentVersion = version;
    st.status.sentVersion = version;
    st.status.sentNonce = nonce;
    st.status.sentAt = new Date().toISOString();
    this.o.log.debug({ node: this.status?.nodeId, typeUrl, version, nonce, count: resources.length }, 'ADS: sent');
    if (this.status) this.o.events.send(this.status, typeUrl, version);
  }

  /** Asks `refuse` (SDS authorization); a refused name is logged once per stream, naming why. */
  private allowed(st: TypeState, typeUrl: XdsTypeUrl, name: string): boolean {
    if (this.o.refuse === undefined || this.status === undefined || isWildcardType(typeUrl)) return true;
    const why = this.o.refuse(this.status, typeUrl, name);
    if (why === undefined) return true;
    st.refused ??= new Set();
    if (!st.refused.has(name)) {
      st.refused.add(name);
      this.o.log.warn({ node: this.status.nodeId, typeUrl, name, reason: why }, `ADS: ${name} refused to ${this.status.nodeId}: ${why}`);
    }
    return false;
  }

  private typeState(typeUrl: XdsTypeUrl): TypeState {
    let st = this.types.get(typeUrl);
    if (st === undefined) {
      st = { lastNonce: undefined, names: undefined, sentVersion: undefined, status: newTypeStatus(typeUrl) };
      this.types.set(typeUrl, st);
      if (this.status) this.status.types[typeUrl] = st.status;
    }
    return st;
  }

  close(graceful: boolean): void {
    if (this.closed) return;
    this.closed = true;
    this.unwatch?.();
    if (graceful) this.call.end();
    if (this.status) this.o.events.disconnect(this.status);
  }
}
