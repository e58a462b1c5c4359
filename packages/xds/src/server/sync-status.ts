/**
 * What the server knows about each connected proxy, per type: the version sent, the version
 * ACKed, the last NACK. The control plane's /debug/syncz and `minimesh proxy-status` print it.
 */
import { SHORT_NAME, type XdsTypeUrl } from '../type-urls.js';

export interface TypeSyncStatus {
  readonly typeUrl: XdsTypeUrl;
  /** CDS, EDS, LDS, RDS. */
  readonly type: string;
  /** Version and nonce of the last response sent (undefined: nothing sent yet). */
  sentVersion?: string;
  sentNonce?: string;
  sentAt?: string;
  /** The version the proxy says it holds: from its last ACK, or from its first request after a reconnect. */
  ackedVersion?: string;
  ackedAt?: string;
  /** The last response the proxy rejected: its version and nonce, and the proxy's reason. */
  lastNack?: { readonly version: string; readonly nonce: string; readonly message: string; readonly at: string };
  /** resource_names of the last request (empty: wildcard). */
  resourceNames: readonly string[];
}

export interface ProxySyncStatus {
  /** One per ADS stream. */
  readonly streamId: number;
  readonly nodeId: string;
  /** `node.cluster` (Istio: the workload's `app.namespace`). */
  readonly cluster: string;
  readonly metadata: Readonly<Record<string, unknown>>;
  /** `node.locality`, when the proxy sent one. */
  readonly locality?: Readonly<{ region?: string; zone?: string; sub_zone?: string }>;
  readonly peer: string;
  readonly connectedAt: string;
  readonly types: Partial<Record<XdsTypeUrl, TypeSyncStatus>>;
}

/** A fresh per-type record. */
export function newTypeStatus(typeUrl: XdsTypeUrl): TypeSyncStatus {
  return { typeUrl, type: SHORT_NAME[typeUrl], resourceNames: [] };
}

/** Istio's proxy-status words for one type: SYNCED, NOT SENT, STALE (sent, not ACKed yet) or NACKED. */
export function syncState(t: TypeSyncStatus | undefined): 'SYNCED' | 'NOT SENT' | 'STALE' | 'NACKED' {
  if (t?.sentNonce === undefined) return 'NOT SENT';
  if (t.lastNack !== undefined && t.lastNack.nonce === t.sentNonce) return 'NACKED';
  return t.ackedVersion === t.sentVersion ? 'SYNCED' : 'STALE';
}
