/**
 * Connections to an upstream endpoint whose cluster has TLS for it (`transport_socket`, or a
 * `transport_socket_matches` entry the endpoint's metadata selects, as Istio's auto mTLS does):
 * tls.connect with the context's SNI, ALPN, client certificate and roots as they are now in the
 * secret store, and the peer's SANs checked against the context's matchers (Node's own check
 * ignores URI SANs). A failed handshake is a connect failure, its reason `TLS_error:...`.
 */
import net from 'node:net';
import tls from 'node:tls';
import type { UpstreamTlsRt } from '@minimesh/config/tls-runtime';
import type { SecretStore } from '../security/secret-store.js';
import type { ClusterStats } from '../observability/stats.js';
import { secureContextFor } from './tls-material.js';
import { checkServerSans } from './peer-identity.js';
import { meshHttpAlpn } from './mesh-alpn.js';

/** The TLS an upstream connection uses, and where its secrets come from. */
export interface UpstreamTlsTarget {
  readonly tls: UpstreamTlsRt;
  readonly secrets: SecretStore;
  /** The cluster's counters (`ssl.handshake`, `ssl.connection_error`). */
  readonly stats?: ClusterStats;
}

/** What an upstream connection waits for before sending: `connect`, or `secureConnect` over TLS. */
export function readyEvent(target: UpstreamTlsTarget | undefined): 'connect' | 'secureConnect' {
  return target === undefined ? 'connect' : 'secureConnect';
}

/**
 * A socket to `host:port`: plain TCP without `target`, else TLS. Errors before the handshake
 * ends get the code `TLS_error:<reason>` (what Envoy's connect failure details say).
 * `httpCodec`: the connection carries HTTP with that codec (mesh contexts offer its ALPN: mesh-alpn.ts).
 */
export function connectUpstream(host: string, port: number, localAddress: string | undefined, target: UpstreamTlsTarget | undefined, allowHalfOpen = false, httpCodec?: 'HTTP1' | 'HTTP2'): net.Socket {
  const base = { host, port, noDelay: true, allowHalfOpen, ...(localAddress !== undefined ? { localAddress } : {}) };
  if (target === undefined) return net.connect(base);
  const t = target.tls;
  let secureContext: tls.SecureContext;
  try {
    secureContext = secureContextFor(t.common, target.secrets);
  } catch (e) {
    const s = new net.Socket();
    const err = new Error((e as Error).message) as NodeJS.ErrnoException;
    err.code = `TLS_error:${(e as Error).message}`;
    process.nextTick(() => s.destroy(err));
    return s;
  }
  const v = t.common.validation;
  const alpn = httpCodec === undefined ? t.common.alpnProtocols : meshHttpAlpn(t.common.alpnProtocols, httpCodec);
  const socket = tls.connect({
    ...base,
    secureContext,
    ...(t.sni !== '' ? { servername: t.sni } : {}),
    ...(alpn.length > 0 ? { ALPNProtocols: [...alpn] } : {}),
    rejectUnauthorized: v !== undefined,
    checkServerIdentity: checkServerSans(v?.sanMatchers ?? []),
  });
  let state: 'tcp' | 'handshake' | 'secure' = 'tcp';
  socket.once('connect', () => (state = 'handshake'));
  const stats = target.stats;
  socket.once('secureConnect', () => {
    state = 'secure';
    if (stats) stats['ssl.handshake']++;
  });
  socket.prependListener('error', (e: NodeJS.ErrnoException) => {
    if (state !== 'handshake') return;
    if (stats) stats['ssl.connection_error']++;
    if (!(e.code ?? '').startsWith('TLS_error')) e.code = `TLS_error:${e.code ?? e.message}`;
  });
  return socket;
}
