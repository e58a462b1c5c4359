/**
 * The proxy's ADS client, state of the world.
 *
 * It subscribes to LDS and CDS as wildcards, then to the RDS and EDS names the listeners and
 * clusters it received use. Each response is decoded and compiled on its own (NACKed at once,
 * with path-prefixed reasons, if any resource is invalid), then held as *pending* until the
 * config it belongs to is complete: every RDS name, EDS assignment and routed cluster
 * present. Then the whole config goes to `onConfig` and, once that returned, the responses
 * it took are ACKed (an ACK means "applied"). When only some pending types fit with the
 * rest (new clusters before the routes that use them: make before break), those are applied
 * first. A pending response that stays incomplete for `pendingTimeoutMs` is NACKed.
 * The last good config keeps serving through all of this.
 *
 * Reconnects with exponential backoff; a new stream starts by telling the server the
 * versions held (version_info, no nonce) for every type and name subscribed.
 */
import { EventEmitter } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import type { DiscoveryResponse } from '@minimesh/api';
import { formatConfigErrors, linkXdsConfig, listenerHcms, type ClusterRt, type ConfigError, type EndpointRt, type ListenerRt, type RouteConfigRt, type RuntimeConfig } from '@minimesh/config';
import { ADS_METHOD_PATH, deserializeResponse, serializeRequest, type DiscoveryRequestOut } from '../ads-service.js';
import { SILENT_LOGGER, type XdsLogger } from '../logger.js';
import { sameNames } from '../server/should-respond.js';
import { CDS, EDS, isWildcardType, isXdsType, LDS, PUSH_ORDER, RDS, SDS, SHORT_NAME, type XdsTypeUrl } from '../type-urls.js';
import { AGENT_SECRETS, decodeSecrets, listenerSecretNames, type ReceivedSecret } from './sds-secrets.js';
import { Backoff } from './backoff.js';
import { subsetsLargestFirst } from './subsets.js';
import { decodeResources, type ResourceEntry } from './decode-resources.js';
import { nodeMessage, type XdsNode } from './node-identity.js';

export interface XdsClientOptions {
  /** `host:port` of the ADS server. */
  readonly server: string;
  readonly node: XdsNode;
  /** Installs a complete config; may be async. Throwing NACKs the responses it came from. */
  readonly onConfig: (update: XdsConfigUpdate) => void | Promise<void>;
  readonly log?: XdsLogger;
  readonly backoff?: { readonly initialMs?: number; readonly maxMs?: number };
  /** How long a valid but incomplete response may wait for the rest before it is NACKed (default 15 s). */
  readonly pendingTimeoutMs?: number;
  /**
   * TLS to the server (Istio's 15012): the root certificate (PEM) the server's certificate must
   * chain to; its name is checked against `serverName`, by default the host of `server` (set it
   * when `server` is an IP or a forwarded port: the name the control plane's certificate carries).
   * Absent: plain text (15010).
   */
  readonly tls?: { readonly rootPem: string; readonly serverName?: string };
  /** SDS: the secrets listeners name (less `localSecrets`, default `default`, `ROOTCA`) are asked for and handed here; a listener update waits for them (Envoy's warming). */
  readonly onSecrets?: (secrets: readonly ReceivedSecret[]) => void;
  readonly localSecrets?: readonly string[];
}

/** What one type holds: the response's version and nonce, and its resources by name. */
export interface HeldResources {
  readonly version: string;
  readonly nonce: string;
  readonly entries: ReadonlyMap<string, ResourceEntry>;
}

/** Per type, the resources of the config being installed (for /config_dump). */
export type XdsDump = Partial<Record<XdsTypeUrl, HeldResources>>;

export interface XdsConfigUpdate {
  readonly config: RuntimeConfig;
  readonly dump: XdsDump;
}

export interface XdsClientEvents {
  connected: [];
  disconnected: [Error | undefined];
  /** A config was installed; the versions per type it holds. */
  applied: [Partial<Record<XdsTypeUrl, string>>];
  nack: [XdsTypeUrl, string];
}

interface TypeState {
  applied: HeldResources | undefined;
  pending: HeldResources | undefined;
  /** Per stream: the last nonce received and the names last asked for. */
  lastNonce: string;
  requested: readonly string[] | undefined;
}

type Call = grpc.ClientDuplexStream<DiscoveryRequestOut, DiscoveryResponse>;

export class XdsClient extends EventEmitter<XdsClientEvents> {
  private readonly state = new Map<XdsTypeUrl, TypeState>(PUSH_ORDER.map((t) => [t, { applied: undefined, pending: undefined, lastNonce: '', requested: undefined }]));
  private readonly log: XdsLogger;
  private readonly backoff: Backoff;
  private client: grpc.Client | undefined;
  private call: Call | undefined;
  private nodeSent = false;
  /** Bumped by every new stream: an apply that outlives its stream leaves the new one alone. */
  private streamGeneration = 0;
  private closed = false;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private pendingTimer: NodeJS.Timeout | undefined;
  /** Responses are handled one at a time, in order (onConfig may be async). */
  private queue: Promise<void> = Promise.resolve();

  constructor(private readonly opts: XdsClientOptions) {
    super();
    this.log = opts.log ?? SILENT_LOGGER;
    this.backoff = new Backoff(opts.backoff?.initialMs, opts.backoff?.maxMs);
  }

  start(): void {
    // Keepalive pings (as Istio configures its proxies): a control plane that vanishes without
    // closing the connection is noticed within 40 s, and the client reconnects.
    const creds = this.opts.tls ? grpc.credentials.createSsl(Buffer.from(this.opts.tls.rootPem)) : grpc.credentials.createInsecure();
    this.client ??= new grpc.Client(this.opts.server, creds, {
      'grpc.keepalive_time_ms': 30_000,
      'grpc.keepalive_timeout_ms': 10_000,
      'grpc.keepalive_permit_without_calls': 1,
      // The name sent (SNI) and checked against the certificate, in place of the dialled host.
      ...(this.opts.tls?.serverName !== undefined ? { 'grpc.ssl_target_name_override': this.opts.tls.serverName } : {}),
    });
    this.connect();
  }

  get connected(): boolean {
    return this.call !== undefined;
  }

  /** The version applied per type. */
  versions(): Partial<Record<XdsTypeUrl, string>> {
    const out: Partial<Record<XdsTypeUrl, string>> = {};
    for (const [t, s] of this.state) if (s.applied) out[t] = s.applied.version;
    return out;
  }

  /** The versions applied, by short name (CDS, EDS, LDS, RDS), for logs. */
  shortVersions(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [t, v] of Object.entries(this.versions())) out[SHORT_NAME[t as XdsTypeUrl]] = v;
    return out;
  }

  /** The resources applied, per type. */
  dump(): XdsDump {
    const out: XdsDump = {};
    for (const [t, s] of this.state) if (s.applied) out[t] = s.applied;
    return out;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.reconnectTimer);
    clearTimeout(this.pendingTimer);
    const call = this.call;
    this.call = undefined;
    call?.cancel();
    await this.queue;
    this.client?.close();
  }

  private connect(): void {
    if (this.closed || this.client === undefined) return;
    const call = this.client.makeBidiStreamRequest(ADS_METHOD_PATH, serializeRequest, deserializeResponse);
    this.call = call;
    this.streamGeneration++;
    this.nodeSent = false;
    for (const s of this.state.values()) {
      s.lastNonce = '';
      s.requested = undefined;
      s.pending = undefined;
    }
    clearTimeout(this.pendingTimer);
    this.pendingTimer = undefined;
    call.on('data', (resp: DiscoveryResponse) => {
      this.backoff.reset();
      this.enqueue(() => this.onResponse(call, resp));
    });
    call.on('error', (e: Error) => this.onStreamEnd(call, e));
    call.on('end', () => this.onStreamEnd(call, undefined));
    // Wildcards first, then (on a reconnect) the names held, each with the version held.
    this.request(CDS, []);
    this.request(LDS, []);
    this.updateSubscriptions();
    this.log.info({ server: this.opts.server, versions: this.shortVersions() }, 'xDS: stream opened');
    this.emit('connected');
  }

  private onStreamEnd(call: Call, err: Error | undefined): void {
    if (call !== this.call) return;
    this.call = undefined;
    clearTimeout(this.pendingTimer);
    this.pendingTimer = undefined;
    this.emit('disconnected', err);
    if (this.closed) return;
    const delay = this.backoff.next();
    this.log.warn({ server: this.opts.server, error: err?.message, retryInMs: delay }, 'xDS: stream closed, reconnecting');
    this.reconnectTimer = setTimeout(() => this.connect(), delay);
  }

  private enqueue(fn: () => Promise<void> | void): void {
    this.queue = this.queue.then(fn).catch((e: unknown) => this.log.warn({ error: (e as Error).message }, 'xDS: error handling a response'));
  }

  private send(req: DiscoveryRequestOut): void {
    if (this.call === undefined) return;
    const withNode = this.nodeSent ? req : { ...req, node: nodeMessage(this.opts.node) };
    this.nodeSent = true;
    this.call.write(withNode);
  }

  /** A subscription request (also the first request of a type on a stream). */
  private request(typeUrl: XdsTypeUrl, names: readonly string[]): void {
    const s = this.state.get(typeUrl)!;
    s.requested = names;
    this.send({ type_url: typeUrl, version_info: s.applied?.version ?? '', resource_names: names, response_nonce: s.lastNonce });
  }

  private ack(typeUrl: XdsTypeUrl, held: HeldResources): void {
    const s = this.state.get(typeUrl)!;
    this.send({ type_url: typeUrl, version_info: held.version, resource_names: s.requested ?? [], response_nonce: held.nonce });
  }

  private nack(typeUrl: XdsTypeUrl, nonce: string, message: string): void {
    const s = this.state.get(typeUrl)!;
    this.log.warn({ type: SHORT_NAME[typeUrl], nonce, error: message }, 'xDS: NACK, keeping the last good config');
    this.send({ type_url: typeUrl, version_info: s.applied?.version ?? '', resource_names: s.requested ?? [], response_nonce: nonce, error_detail: { code: 3, message } });
    this.emit('nack', typeUrl, message);
  }

  private async onResponse(call: Call, resp: DiscoveryResponse): Promise<void> {
    if (call !== this.call) return; // from a stream that is gone
    const typeUrl = resp.type_url ?? '';
    if (!isXdsType(typeUrl)) {
      this.send({ type_url: typeUrl, version_info: '', resource_names: [], response_nonce: resp.nonce ?? '', error_detail: { code: 12, message: `minimesh does not handle ${typeUrl}` } });
      return;
    }
    if (typeUrl === SDS) return this.onSecretsResponse(resp);
    const s = this.state.get(typeUrl)!;
    const nonce = resp.nonce ?? '';
    const version = resp.version_info ?? '';
    s.lastNonce = nonce;
    const held = (s.pending ?? s.applied)?.entries;
    const decoded = decodeResources(typeUrl, resp.resources ?? [], version, held);
    if (!decoded.ok) {
      this.nack(typeUrl, nonce, formatConfigErrors(decoded.errors));
      return;
    }
    this.log.debug({ type: SHORT_NAME[typeUrl], version, count: decoded.entries.size }, 'xDS: response');
    s.pending = { version, nonce, entries: decoded.entries };
    this.updateSubscriptions();
    await this.tryApply();
    if (call !== this.call) return; // reconnected while applying: the new stream asks afresh
    // A by-name response that waits (not ACKed yet) may answer names asked for before a
    // subscription change whose request the server then took as stale. Answer it now with
    // the current nonce and names (version_info: what is applied), so the server sends
    // what is asked now; the real ACK follows once the config is applied.
    if (!isWildcardType(typeUrl) && s.pending?.nonce === nonce && s.lastNonce === nonce) this.request(typeUrl, s.requested ?? []);
  }

  private latest(t: XdsTypeUrl): HeldResources | undefined {
    const s = this.state.get(t)!;
    return s.pending ?? s.applied;
  }

  /** RDS follows the listeners, EDS the clusters: ask for the names they use, when that changed. */
  private updateSubscriptions(): void {
    if (this.call === undefined) return;
    const want = (from: XdsTypeUrl, pick: (compiled: unknown) => string | readonly (string | undefined)[] | undefined): string[] | undefined => {
      const h = this.latest(from);
      if (h === undefined) return undefined;
      const names = new Set<string>();
      for (const e of h.entries.values()) {
        const n = pick(e.compiled);
        for (const x of typeof n === 'string' ? [n] : (n ?? [])) if (x !== undefined) names.add(x);
      }
      return [...names].sort();
    };
    const pairs: [XdsTypeUrl, string[] | undefined][] = [
      [EDS, want(CDS, (c) => ((c as ClusterRt).type === 'EDS' ? (c as ClusterRt).edsServiceName : undefined))],
      [RDS, want(LDS, (l) => listenerHcms(l as ListenerRt).map((h) => h.hcm.rdsName))],
      [SDS, want(LDS, (l) => listenerSecretNames([l as ListenerRt], (this.opts.localSecrets ?? AGENT_SECRETS)))],
    ];
    for (const [t, names] of pairs) {
      if (names === undefined) continue;
      const s = this.state.get(t)!;
      if (s.requested === undefined ? names.length > 0 : !sameNames(s.requested, names)) this.request(t, names);
    }
  }

  /** SDS: the secrets go to `onSecrets` at once (they are not part of the linked config), then ACK; pending listeners may now be complete. */
  private async onSecretsResponse(resp: DiscoveryResponse): Promise<void> {
    const s = this.state.get(SDS)!;
    const nonce = resp.nonce ?? '';
    const version = resp.version_info ?? '';
    s.lastNonce = nonce;
    const decoded = decodeSecrets(SDS, resp.resources ?? [], version);
    if (!decoded.ok) return this.nack(SDS, nonce, formatConfigErrors(decoded.errors));
    this.opts.onSecrets?.(decoded.secrets);
    const entries = new Map(decoded.secrets.map((x) => [x.name, { name: x.name, bytes: Buffer.alloc(0), resource: {}, compiled: x, version, lastUpdated: new Date() }]));
    s.applied = { version, nonce, entries };
    this.ack(SDS, s.applied);
    await this.tryApply();
  }

  /** The secrets the pending listeners name that have not arrived (their update waits). */
  private missingSecrets(types: readonly XdsTypeUrl[]): string[] {
    const lds = types.includes(LDS) ? this.state.get(LDS)!.pending : undefined;
    if (lds === undefined || this.opts.onSecrets === undefined) return [];
    const have = this.state.get(SDS)!.applied?.entries;
    return listenerSecretNames([...lds.entries.values()].map((e) => e.compiled as ListenerRt), (this.opts.localSecrets ?? AGENT_SECRETS)).filter((n) => !have?.has(n));
  }

  /** The config made of the applied state with the pending responses of `types` on top. */
  private link(types: readonly XdsTypeUrl[]): { result: ReturnType<typeof linkXdsConfig>; dump: XdsDump } | undefined {
    const dump: XdsDump = {};
    for (const t of PUSH_ORDER) {
      const s = this.state.get(t)!;
      const h = types.includes(t) ? s.pending : s.applied;
      if (h) dump[t] = h;
    }
    if (dump[LDS] === undefined || dump[CDS] === undefined) return undefined; // not even one of each yet
    const compiled = <T>(t: XdsTypeUrl): Map<string, T> => new Map([...(dump[t]?.entries.values() ?? [])].map((e) => [e.name, e.compiled as T]));
    const result = linkXdsConfig(
      { listeners: compiled<ListenerRt>(LDS), routes: compiled<RouteConfigRt>(RDS), clusters: compiled<ClusterRt>(CDS), endpoints: compiled<readonly EndpointRt[]>(EDS) },
      { version: dump[LDS]!.version, node: { id: this.opts.node.id, cluster: this.opts.node.cluster ?? '', metadata: this.opts.node.metadata ?? {} } },
    );
    return { result, dump };
  }

  /** Applies the largest set of pending responses that makes a complete config. */
  private async tryApply(): Promise<void> {
    const pending = PUSH_ORDER.filter((t) => this.state.get(t)!.pending !== undefined);
    if (pending.length === 0) {
      clearTimeout(this.pendingTimer);
      this.pendingTimer = undefined;
      return;
    }
    let firstErrors: readonly ConfigError[] | undefined;
    for (const subset of subsetsLargestFirst(pending)) {
      const linked = this.link(subset);
      if (linked === undefined) continue;
      const missing = this.missingSecrets(subset);
      if (missing.length > 0) {
        firstErrors ??= missing.map((n) => ({ path: `secret ${n}`, message: 'named by a listener, not received yet' }));
        continue;
      }
      if (!linked.result.ok) {
        firstErrors ??= linked.result.errors;
        continue;
      }
      const generation = this.streamGeneration;
      try {
        await this.opts.onConfig({ config: linked.result.value, dump: linked.dump });
      } catch (e) {
        if (generation !== this.streamGeneration) return; // reconnected meanwhile: pending is gone
        for (const t of subset) {
          const s = this.state.get(t)!;
          this.nack(t, s.pending!.nonce, `cannot apply: ${(e as Error).message}`);
          s.pending = undefined;
        }
        this.updateSubscriptions();
        return;
      }
      // Reconnected while onConfig ran: the new stream cleared the pending responses and asks
      // again with the versions applied; ACKing nonces of the old stream would be wrong.
      if (generation !== this.streamGeneration) return;
      for (const t of subset) {
        const s = this.state.get(t)!;
        s.applied = s.pending;
        s.pending = undefined;
        this.ack(t, s.applied!);
      }
      this.log.info({ versions: this.shortVersions() }, 'xDS: config applied');
      this.emit('applied', this.versions());
      break;
    }
    const left = PUSH_ORDER.filter((t) => this.state.get(t)!.pending !== undefined);
    if (left.length === 0) {
      clearTimeout(this.pendingTimer);
      this.pendingTimer = undefined;
    } else {
      this.log.debug({ waiting: left.map((t) => SHORT_NAME[t]), missing: firstErrors && formatConfigErrors(firstErrors) }, 'xDS: waiting for the rest of the config');
      this.pendingTimer ??= setTimeout(() => this.enqueue(() => this.expirePending()), this.opts.pendingTimeoutMs ?? 15_000);
    }
  }

  /** Pending responses that never became complete: NACK them with what is missing. */
  private expirePending(): void {
    this.pendingTimer = undefined;
    const pending = PUSH_ORDER.filter((t) => this.state.get(t)!.pending !== undefined);
    if (pending.length === 0) return;
    const linked = this.link(pending);
    const why = linked === undefined ? 'no listeners or no clusters received' : linked.result.ok ? 'not applied' : formatConfigErrors(linked.result.errors);
    for (const t of pending) {
      const s = this.state.get(t)!;
      this.nack(t, s.pending!.nonce, `incomplete config after ${this.opts.pendingTimeoutMs ?? 15_000} ms:\n${why}`);
      s.pending = undefined;
    }
    this.updateSubscriptions();
  }
}
