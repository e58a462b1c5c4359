/**
 * A chain's DownstreamTlsContext on an accepted socket: the handshake with the chain's
 * secrets as they are now, ALPN chosen as a mesh server does, the client certificate
 * checked (required when `require_client_certificate`), and the client's URI SAN kept as
 * its identity.
 */
import tls from 'node:tls';
import type net from 'node:net';
import type { DownstreamTlsRt } from '@minimesh/config/tls-runtime';
import type { SecretStore } from '../security/secret-store.js';
import { secureContextFor } from './tls-material.js';
import { parseSubjectAltNames, sansMatch } from './peer-identity.js';

/** The mesh's own ALPN words for HTTP (a client proxy sends them first); never istio-peer-exchange. */
const MESH_HTTP_ALPN = ['istio-h2', 'istio-http/1.1', 'istio-http/1.0', 'h2', 'http/1.1', 'http/1.0', 'istio'];
const MESH_TCP_ALPN = ['istio'];
const PEER_EXCHANGE = 'istio-peer-exchange';
/** How long a client may take to finish the handshake (Envoy has no default; Node's server uses 120 s). */
export const HANDSHAKE_TIMEOUT_MS = 10_000;

/**
 * The protocol to answer from the client's list: the first of the chain's `alpn_protocols`
 * the client offers (never `istio-peer-exchange`, whose metadata exchange minimesh does not
 * speak), else the client's first mesh word for what the chain serves; undefined = none fits
 * (Node then ends the handshake with a no_application_protocol alert, where Envoy would go on
 * without ALPN).
 */
export function selectAlpn(server: readonly string[], client: readonly string[], serves: 'http' | 'tcp'): string | undefined {
  for (const p of server) if (p !== PEER_EXCHANGE && client.includes(p)) return p;
  const words = serves === 'http' ? MESH_HTTP_ALPN : MESH_TCP_ALPN;
  for (const p of client) if (words.includes(p)) return p;
  return undefined;
}

/** The HTTP codec a negotiated protocol calls for (undefined: decide by the first bytes). */
export function codecForAlpn(alpn: string | false | null | undefined): 'HTTP1' | 'HTTP2' | undefined {
  if (alpn === 'h2' || alpn === 'istio-h2') return 'HTTP2';
  if (alpn === 'http/1.1' || alpn === 'istio-http/1.1' || alpn === 'http/1.0' || alpn === 'istio-http/1.0') return 'HTTP1';
  return undefined;
}

export interface ServerTlsResult {
  readonly socket: tls.TLSSocket;
  /** The client's verified URI SAN. */
  readonly peerPrincipal: string | undefined;
}

/**
 * Terminates TLS on `socket` (its first bytes already given back to it). `done` gets the
 * secure socket, or an error text (the socket is then destroyed).
 */
export function startServerTls(socket: net.Socket, cfg: DownstreamTlsRt, secrets: SecretStore, serves: 'http' | 'tcp', done: (r: ServerTlsResult | string) => void): void {
  let ctx: tls.SecureContext;
  try {
    ctx = secureContextFor(cfg.common, secrets);
  } catch (e) {
    socket.destroy();
    done((e as Error).message);
    return;
  }
  const v = cfg.common.validation;
  const server = cfg.common.alpnProtocols;
  const ts = new tls.TLSSocket(socket, {
    isServer: true,
    secureContext: ctx,
    requestCert: v !== undefined,
    rejectUnauthorized: cfg.requireClientCertificate,
    ALPNCallback: ({ protocols }) => selectAlpn(server, protocols, serves),
  });
  let finished = false;
  const finish = (r: ServerTlsResult | string): void => {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    if (typeof r === 'string') ts.destroy();
    done(r);
  };
  const timer = setTimeout(() => finish('TLS handshake timeout'), HANDSHAKE_TIMEOUT_MS);
  const onError = (e: NodeJS.ErrnoException): void => finish(`TLS error: ${e.code ?? e.message}`);
  const onClose = (): void => finish('connection closed during the TLS handshake');
  ts.on('error', onError);
  ts.once('close', onClose);
  ts.once('secure', () => {
    const cert = v === undefined ? undefined : ts.getPeerCertificate();
    const presented = cert !== undefined && Object.keys(cert).length > 0;
    // A certificate that is there must verify (Envoy), required or not.
    const bad = presented ? verifyErrorOf(ts) : undefined;
    if (bad !== undefined) return finish(`TLS error: client certificate: ${bad}`);
    const sans = presented ? parseSubjectAltNames(cert.subjectaltname) : [];
    if (presented && !sansMatch(v!.sanMatchers, sans)) return finish('TLS error: client certificate SAN does not match');
    if (!presented && v !== undefined && v.sanMatchers.length > 0) return finish('TLS error: client certificate required by the SAN matchers');
    ts.off('error', onError);
    ts.off('close', onClose);
    finish({ socket: ts, peerPrincipal: sans.find((s) => s.type === 'URI')?.value });
  });
}

/**
 * The chain verification result of the peer's certificate. A TLSSocket made outside a
 * tls.Server is not checked by Node after the handshake, so this asks the handle as
 * tls.Server does (`verifyError()`: null when the chain verifies against the context's CA).
 */
function verifyErrorOf(ts: tls.TLSSocket): string | undefined {
  const h = (ts as unknown as { _handle?: { verifyError?: () => Error | null } })._handle;
  if (h?.verifyError === undefined) return 'cannot verify the peer certificate';
  const e = h.verifyError();
  return e === null ? undefined : ((e as NodeJS.ErrnoException).code ?? e.message);
}
