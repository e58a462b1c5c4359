/**
 * Istio's TCP metadata exchange on one connection whose TLS negotiated `istio-peer-exchange`
 * (both sides: a server chain that runs `istio.metadata_exchange`, and a client whose
 * upstream chose that ALPN). This side writes its preamble at once (so neither side waits on
 * the other, whichever speaks first), then reads the peer's off the front of the stream:
 *   - a whole preamble: the peer's workload metadata, and the bytes after it go on;
 *   - a wrong magic, a length over MAX_EXCHANGE_BYTES, an undecodable payload, the stream's
 *     end or EXCHANGE_TIMEOUT_MS without a whole preamble: no peer metadata (the metrics say
 *     `unknown`) and every byte read goes on untouched, as Envoy's filter lets them pass.
 * The read is bounded: at most the header plus MAX_EXCHANGE_BYTES are held.
 */
import type net from 'node:net';
import type tls from 'node:tls';
import { encodeTcpExchange, TcpExchangeReader, PEER_EXCHANGE_ALPN } from '../observability/istio/tcp-metadata-exchange.js';
import type { WorkloadPeer } from '../observability/istio/workload-peer.js';
import type { IstioMetrics } from '../observability/istio/istio-metrics.js';
import { uriSanOf } from '../tls/peer-identity.js';
import { log } from '../log.js';

/** How long the peer may take to send its whole preamble before the connection goes on without it. */
export const EXCHANGE_TIMEOUT_MS = 10_000;

export interface PeerExchangeResult {
  /** The peer's workload (undefined: the exchange failed, or the peer named none). */
  readonly peer: WorkloadPeer | undefined;
  /** The peer's node id (`x-envoy-peer-metadata-id`), '' when unknown. */
  readonly nodeId: string;
  /** The stream's first bytes: what came after the preamble, or everything read when the exchange failed. */
  readonly rest: Buffer;
  /** Bytes of the preambles: ours written, the peer's read (0 when it failed). */
  readonly wrote: number;
  readonly read: number;
  /** Why the exchange failed (undefined: it did not). */
  readonly failure?: string;
}

/** Whether a socket's TLS negotiated the exchange's ALPN (`protocol`, Istio's `istio-peer-exchange`). */
export function negotiatedExchange(socket: net.Socket, protocol: string = PEER_EXCHANGE_ALPN): boolean {
  return (socket as tls.TLSSocket).alpnProtocol === protocol;
}

/** The certificate URIs of a TLS socket: this side's (`local`) and the peer's (verified by the handshake). */
export function tlsPrincipals(socket: net.Socket): { local: string | undefined; peer: string | undefined } {
  const ts = socket as tls.TLSSocket;
  if (typeof ts.getCertificate !== 'function') return { local: undefined, peer: undefined };
  const local = ts.getCertificate();
  const peer = ts.getPeerCertificate();
  return { local: uriSanOf(local !== null && 'subjectaltname' in local ? local : undefined), peer: uriSanOf(peer !== null && Object.keys(peer).length > 0 ? peer : undefined) };
}

const preambles = new WeakMap<WorkloadPeer, Map<string, Buffer>>();

/** This proxy's preamble: its workload (IDENTITY from the certificate it presented) and node id. */
export function localPreamble(metrics: IstioMetrics, localPrincipal: string | undefined): Buffer {
  const local = metrics.local;
  const key = `${localPrincipal ?? ''}|${metrics.localId}`;
  let byKey = preambles.get(local);
  if (byKey === undefined) preambles.set(local, (byKey = new Map()));
  let b = byKey.get(key);
  if (b === undefined) {
    if (byKey.size > 16) byKey.clear();
    byKey.set(key, (b = encodeTcpExchange(localPrincipal === undefined ? local : { ...local, principal: localPrincipal }, metrics.localId)));
  }
  return b;
}

/**
 * Runs the exchange on `socket` (flowing from here; paused again when `done` is called, once;
 * an error meanwhile destroys the socket and ends the exchange).
 */
export function exchangePeerMetadata(socket: net.Socket, preamble: Buffer, done: (r: PeerExchangeResult) => void, timeoutMs = EXCHANGE_TIMEOUT_MS): void {
  const reader = new TcpExchangeReader();
  let finished = false;
  const finish = (r: Omit<PeerExchangeResult, 'wrote'>): void => {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    socket.off('data', onData);
    socket.off('end', onEnd);
    socket.off('close', onEnd);
    socket.off('error', onError);
    socket.pause();
    if (r.failure !== undefined) log.debug({ reason: r.failure, remote: socket.remoteAddress }, 'TCP metadata exchange: no peer metadata');
    done({ ...r, wrote: preamble.length });
  };
  const failed = (failure: string): void => finish({ peer: undefined, nodeId: '', rest: reader.pending, read: 0, failure });
  const onData = (d: Buffer): void => {
    const r = reader.feed(d);
    if (r.state === 'more') return;
    if (r.state === 'failed') return failed(r.reason);
    const read = reader.pending.length - r.rest.length;
    finish({ peer: r.peer, nodeId: r.nodeId, rest: r.rest, read });
  };
  const onEnd = (): void => failed('the stream ended before the peer metadata');
  // An error while exchanging is the connection's end (the caller sees it destroyed).
  const onError = (e: Error): void => {
    socket.destroy();
    failed(`connection error: ${e.message}`);
  };
  const timer = setTimeout(() => failed(`no peer metadata within ${timeoutMs} ms`), timeoutMs);
  socket.on('data', onData);
  socket.once('end', onEnd);
  socket.once('close', onEnd);
  socket.on('error', onError);
  socket.write(preamble);
  socket.resume();
}
