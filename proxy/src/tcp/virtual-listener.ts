/**
 * Listeners with `bind_to_port: false` (Istio's per-port outbound listeners such as
 * `0.0.0.0_443`, SNI filter chains behind a `tls_inspector`): never bound, they take the
 * connections another listener hands them, as Envoy's `use_original_dst` hands a captured
 * connection to the listener of its original destination:
 *   - the capture listener (virtualOutbound), by the original destination;
 *   - the local mesh's forward proxy, the tunnel of a `CONNECT host:PORT` terminated as TCP,
 *     the CONNECT authority standing for the original destination.
 * A listener on the exact address wins over one on 0.0.0.0 (or ::), as in Envoy.
 */
import type net from 'node:net';
import type { OriginalDst } from '../capture/original-dst.js';

export interface VirtualListener {
  /**
   * Takes `socket` (paused or flowing; its bytes not yet read) as one of its connections, with
   * `dst` as its original destination. `fallback`: where the connection goes when none of the
   * listener's chains match (the bytes peeked are put back first); absent: closed, as Envoy.
   */
  handoff(socket: net.Socket, dst: OriginalDst, fallback?: (socket: net.Socket) => void): void;
}

export type VirtualListenerLookup = (address: string, port: number) => VirtualListener | undefined;

interface Candidate {
  readonly config: { readonly address: string; readonly port: number; readonly bindToPort?: false };
}

/** The virtual listener for `address:port` among `listeners` (exact address first, then the wildcard). */
export function findVirtualListener<L extends Candidate>(listeners: Iterable<L>, address: string, port: number): L | undefined {
  let wildcard: L | undefined;
  for (const l of listeners) {
    if (l.config.bindToPort !== false || l.config.port !== port) continue;
    if (l.config.address === address) return l;
    if (l.config.address === '0.0.0.0' || l.config.address === '::') wildcard ??= l;
  }
  return wildcard;
}
