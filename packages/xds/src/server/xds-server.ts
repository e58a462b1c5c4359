/**
 * The ADS gRPC server: serves `StreamAggregatedResources` from a SnapshotCache and keeps
 * the sync status of every connected proxy.
 *
 *   const cache = new SnapshotCache();
 *   const server = new XdsServer({ cache });
 *   const port = await server.listen('0.0.0.0', 15010);
 *   cache.setSnapshot(nodeId, { version: 'v1', clusters, endpoints, listeners, routes });
 *   server.syncStatus();
 */
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { ADS_SERVICE_DEFINITION } from '../ads-service.js';
import { SILENT_LOGGER, type XdsLogger } from '../logger.js';
import type { XdsTypeUrl } from '../type-urls.js';
import { AdsStream, type ResourceRefusal, type AdsCall, type AdsStreamEvents } from './ads-stream.js';
import type { SnapshotCache } from './snapshot-cache.js';
import type { ProxySyncStatus } from './sync-status.js';

/** The serving certificate of a TLS listener (PEM). */
export interface XdsServerTls {
  readonly certChainPem: string;
  readonly keyPem: string;
}

export interface XdsServerOptions {
  readonly cache: SnapshotCache;
  readonly log?: XdsLogger;
  /** `control_plane.identifier` in responses (default `minimesh`). */
  readonly controlPlaneId?: string;
  /** Refuses a named resource to a proxy (SDS authorization): the reason, or undefined to serve it. */
  readonly refuse?: ResourceRefusal;
}

/** Events: connect, disconnect (status); ack, send (status, typeUrl, version); nack (status, typeUrl, version, message). */
export interface XdsServerEvents {
  connect: [ProxySyncStatus];
  disconnect: [ProxySyncStatus];
  ack: [ProxySyncStatus, XdsTypeUrl, string];
  send: [ProxySyncStatus, XdsTypeUrl, string];
  nack: [ProxySyncStatus, XdsTypeUrl, string, string];
}

export class XdsServer extends EventEmitter<XdsServerEvents> {
  /** Accepts the clients' keepalive pings (every 30 s, see the client) without calling them abusive. */
  readonly grpcServer = new grpc.Server({ 'grpc.keepalive_permit_without_calls': 1 });
  private readonly streams = new Set<AdsStream>();
  private streamSeq = 0;
  private readonly noncePrefix = randomBytes(4).toString('hex');

  constructor(private readonly opts: XdsServerOptions) {
    super();
    this.grpcServer.addService(ADS_SERVICE_DEFINITION, this.handlers());
  }

  /** The service implementation, to serve ADS from another grpc.Server too. */
  handlers(): grpc.UntypedServiceImplementation {
    const events: AdsStreamEvents = {
      connect: (s) => this.emit('connect', s),
      disconnect: (s) => this.emit('disconnect', s),
      ack: (s, t, v) => this.emit('ack', s, t, v),
      send: (s, t, v) => this.emit('send', s, t, v),
      nack: (s, t, v, m) => this.emit('nack', s, t, v, m),
    };
    return {
      StreamAggregatedResources: (call: AdsCall) => {
        const stream = new AdsStream(call, {
          streamId: ++this.streamSeq,
          cache: this.opts.cache,
          events,
          log: this.opts.log ?? SILENT_LOGGER,
          noncePrefix: this.noncePrefix,
          controlPlaneId: this.opts.controlPlaneId ?? 'minimesh',
          refuse: this.opts.refuse,
        });
        this.streams.add(stream);
        const forget = (): void => void this.streams.delete(stream);
        call.on('end', forget);
        call.on('error', forget);
        call.on('cancelled', forget);
        call.on('close', forget);
      },
    };
  }

  /**
   * Listens; resolves with the bound port. Plain text as Istio's 15010, or, given a serving
   * certificate, TLS as its 15012 (clients are not asked for a certificate).
   */
  listen(host: string, port: number, tls?: XdsServerTls): Promise<number> {
    const addr = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
    const creds = tls
      ? grpc.ServerCredentials.createSsl(null, [{ cert_chain: Buffer.from(tls.certChainPem), private_key: Buffer.from(tls.keyPem) }], false)
      : grpc.ServerCredentials.createInsecure();
    return new Promise((resolve, reject) => {
      this.grpcServer.bindAsync(addr, creds, (err, bound) => (err ? reject(err) : resolve(bound)));
    });
  }

  /** Every connected proxy (one entry per stream), with its per-type versions and last NACK. */
  syncStatus(): ProxySyncStatus[] {
    const out: ProxySyncStatus[] = [];
    for (const s of this.streams) if (s.status !== undefined) out.push(structuredClone(s.status));
    return out.sort((a, b) => a.nodeId.localeCompare(b.nodeId) || a.streamId - b.streamId);
  }

  get connectedStreams(): number {
    return this.streams.size;
  }

  /** Stops accepting, ends every stream, waits up to `graceMs` then forces the rest. */
  async close(graceMs = 1000): Promise<void> {
    for (const s of this.streams) s.close(true);
    this.streams.clear();
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.grpcServer.forceShutdown();
        resolve();
      }, graceMs);
      this.grpcServer.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}
