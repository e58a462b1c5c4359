/**
 * `/debug/syncz`: per connected proxy, per type, the version sent and ACKed and the last NACK,
 * from the xDS server's sync status. `proxy-status` prints it as Istio's table.
 */
import { SHORT_NAME, syncState, type ProxySyncStatus, type XdsTypeUrl } from '@minimesh/xds';

export type SyncWord = 'SYNCED' | 'NOT SENT' | 'STALE' | 'ERROR';

export interface TypeSyncz {
  readonly state: SyncWord;
  readonly sent_version?: string;
  readonly sent_nonce?: string;
  readonly sent_at?: string;
  readonly acked_version?: string;
  readonly acked_at?: string;
  readonly last_nack?: { readonly version: string; readonly nonce: string; readonly message: string; readonly at: string };
}

export interface ProxySyncz {
  /** The node id: `sidecar~IP~POD.NAMESPACE~NAMESPACE.svc.cluster.local`. */
  readonly proxy: string;
  /** `POD.NAMESPACE`, as proxy-status names it. */
  readonly name: string;
  readonly cluster: string;
  readonly version: string;
  readonly connected_at: string;
  readonly peer: string;
  readonly types: Readonly<Record<'CDS' | 'LDS' | 'EDS' | 'RDS', TypeSyncz>>;
}

/** `POD.NAMESPACE` from an Istio node id (the id itself when it is not one). */
export function shortProxyName(nodeId: string): string {
  const parts = nodeId.split('~');
  return parts.length === 4 ? parts[2] : nodeId;
}

export function syncz(statuses: readonly ProxySyncStatus[], controlPlaneVersion: string): ProxySyncz[] {
  // One entry per proxy: its newest stream (a reconnect may briefly overlap the old one).
  const latest = new Map<string, ProxySyncStatus>();
  for (const s of statuses) {
    const prev = latest.get(s.nodeId);
    if (!prev || prev.streamId < s.streamId) latest.set(s.nodeId, s);
  }
  return [...latest.values()].map((s) => {
    const types = {} as Record<'CDS' | 'LDS' | 'EDS' | 'RDS', TypeSyncz>;
    for (const [typeUrl, short] of Object.entries(SHORT_NAME) as [XdsTypeUrl, 'CDS' | 'EDS' | 'LDS' | 'RDS' | 'SDS'][]) {
      // proxy-status's columns are CDS, LDS, EDS, RDS; a gateway's SDS secrets are not one of them.
      if (short === 'SDS') continue;
      const t = s.types[typeUrl];
      const st = syncState(t);
      types[short] = {
        state: st === 'NACKED' ? 'ERROR' : st,
        sent_version: t?.sentVersion,
        sent_nonce: t?.sentNonce,
        sent_at: t?.sentAt,
        acked_version: t?.ackedVersion,
        acked_at: t?.ackedAt,
        last_nack: t?.lastNack,
      };
    }
    const meta = s.metadata as { ISTIO_VERSION?: unknown; MINIMESH_VERSION?: unknown };
    return {
      proxy: s.nodeId,
      name: shortProxyName(s.nodeId),
      cluster: s.cluster,
      version: String(meta.ISTIO_VERSION ?? meta.MINIMESH_VERSION ?? controlPlaneVersion),
      connected_at: s.connectedAt,
      peer: s.peer,
      types,
    };
  });
}
