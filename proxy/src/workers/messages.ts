/**
 * What the primary and its workers say to each other over the cluster IPC channel
 * (`serialization: 'advanced'`: structured clone, so Uint8Array and Date cross as they are).
 */
import type { TlsSecret } from '../security/secret-store.js';
import type { StatsSnapshot } from '../observability/stats-snapshot.js';
import type { IstioSeries } from '../observability/istio/istio-series.js';
import type { ConfigSnapshot } from './config-snapshot.js';

/** What a worker needs before its first config (the proxy's own options). */
export interface WorkerSettings {
  readonly drainTimeMs: number;
  readonly dnsResolvers?: readonly string[];
  readonly logLevel: string;
}

/** A listener a worker serves, as it bound it. */
export interface BoundListener {
  readonly name: string;
  readonly address: string;
  readonly port: number;
}

export type ToWorker =
  | { readonly type: 'init'; readonly settings: WorkerSettings }
  | { readonly type: 'secret'; readonly name: string; readonly secret: TlsSecret }
  | { readonly type: 'config'; readonly seq: number; readonly snapshot: ConfigSnapshot }
  | { readonly type: 'stats'; readonly id: number }
  | { readonly type: 'drain' }
  | { readonly type: 'drain-listeners'; readonly inboundOnly: boolean };

export type FromWorker =
  /** The worker listens for messages (sent once, at start). */
  | { readonly type: 'ready' }
  /** Config `seq` applied (`error`: it was not, and why; the worker keeps its last good one). */
  | { readonly type: 'applied'; readonly seq: number; readonly error?: string; readonly listeners: readonly BoundListener[] }
  | { readonly type: 'stats'; readonly id: number; readonly stats: StatsSnapshot; readonly istio: IstioSeries };
