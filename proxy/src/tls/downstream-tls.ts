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
import { tlsMaterialFor, type TlsMaterial } from './tls-material.js';
import { parseSubjectAltNames, sansMatch } from './peer-identity.js';

/** The mesh's own ALPN words for HTTP (a client proxy sends them first); never istio-peer-exchange here. */
const MESH_HTTP_ALPN = ['istio-h2', 'istio-http/1.1', 'istio-http/1.0', 'h2', 'http/1.1', 'http/1.0', 'istio'];
const MESH_TCP_ALPN = ['istio'];
const PEER_EXCHANGE = 'istio-peer-exchange';
/** How long a client may take to finish the handshake (Envoy has no default; Node's server uses 120 s). */
export const HANDSHAKE_TIMEOUT_MS = 10_000;

/**
 * The protocol to answer from the client's list: the first of the chain's `alpn_protocols`
 * the client offers (`istio-peer-exchange` only when the chain runs the TCP metadata exchange
 * under it: `exchange` names that ALPN), else the client's first mesh word for what the chain
 * serves; undefined = none fits (Node then ends the handshake with a no_application_protocol
 * alert, where Envoy would go on without ALPN).
 */
export function selectAlpn(server: readonly string[], client: readonly string[], serves: 'http' | 'tcp', exchange?: string): string | undefined {
  for (const p of server) if ((p !== PEER_EXCHANGE || p === exchange) && client.includes(p)) return p;
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
 * The TLS side of one filter chain: a tls.Server that never listens; accept() hands it a
 * socket (its first bytes given back to it). Each accept() first makes sure the server uses
 * the chain's secrets as they are now. `done` gets the secure socket, or an error text.
 */
export class ChainTlsServer {
  private readonly server: tls.Server;
  private material: TlsMaterial | undefined;

  constructor(
    private readonly cfg: DownstreamTlsRt,
    private readonly secrets: SecretStore,
    serves: 'http' | 'tcp',
    private readonly done: (r: ServerTlsResult | string) => void,
    /** The ALPN of the chain's TCP metadata exchange (undefined: the chain runs none). */
    exchange?: string,
  ) {
    const v = cfg.common.validation;
    const alpn = cfg.common.alpnProtocols;
    this.server = tls.createServer({
      requestCert: v !== undefined,
      // Required: a missing or unverified client certificate fails the handshake (Envoy's alert).
      rejectUnauthorized: cfg.requireClientCertificate,
      handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
      ALPNCallback: ({ protocols }) => selectAlpn(alpn, protocols, serves, exchange),
    });
    this.server.on('secureConnection', (ts: tls.TLSSocket) => this.onSecure(ts));
    this.server.on('tlsClientError', (e: NodeJS.ErrnoException, ts: tls.TLSSocket) => {
      ts.destroy();
      done(`TLS error: ${e.code ?? e.message}`);
    });
  }

  accept(socket: net.Socket): void {
    let m: TlsMaterial;
    try {
      m = tlsMaterialFor(this.cfg.common, this.secrets);
    } catch (e) {
      socket.destroy();
      this.done((e as Error).message);
      return;
    }
    if (m !== this.material) {
      // A rotated secret: connections from now on are served with it.
      this.server.setSecureContext(m.options);
      this.material = m;
    }
    this.server.emit('connection', socket);
  }

  private onSecure(ts: tls.TLSSocket): void {
    const v = this.cfg.common.validation;
    const fail = (why: string): void => {
      ts.destroy();
      this.done(why);
    };
    const cert = v === undefined ? undefined : ts.getPeerCertificate();
    const presented = cert !== undefined && Object.keys(cert).length > 0;
    if (!presented && this.cfg.requireClientCertificate) return fail('TLS error: the client sent no certificate');
    // A certificate that is there must verify (as Envoy), required or not.
    if (presented && !ts.authorized) return fail(`TLS error: client certificate: ${String(ts.authorizationError)}`);
    const sans = presented ? parseSubjectAltNames(cert.subjectaltname) : [];
    if (v !== undefined && v.sanMatchers.length > 0 && !sansMatch(v.sanMatchers, sans)) return fail('TLS error: the client certificate SAN matches no matcher');
    this.done({ socket: ts, peerPrincipal: sans.find((s) => s.type === 'URI')?.value });
  }
}
