/** What a stream knows of its client connection. */
import type { ClientCertInfo } from '../security/xfcc.js';

export interface DownstreamInfo {
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** `address:port` of the listener side. */
  readonly localAddress: string;
  /** `address:port` the client dialled, when iptables redirected it here (capture). */
  readonly originalDst?: string;
  /** The client's identity (URI SAN, `spiffe://...`) when it presented a verified certificate (mTLS). */
  readonly peerPrincipal?: string;
  /** The client connection is TLS (`require_tls`). */
  readonly secure?: boolean;
  /** The SNI the client sent in its TLS handshake, when it sent one. */
  readonly requestedServerName?: string;
  /** The client's verified certificate and this proxy's URI SAN (mTLS), for `x-forwarded-client-cert`. */
  readonly clientCert?: ClientCertInfo;
}
