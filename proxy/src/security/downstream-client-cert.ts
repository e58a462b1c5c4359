/**
 * The client certificate of a downstream connection, for `x-forwarded-client-cert`: only on a
 * TLS connection whose client presented a verified certificate (a TLS filter chain set its
 * principal). Cached per socket: a connection's certificates do not change.
 */
import tls from 'node:tls';
import type net from 'node:net';
import { currentXfccElement, forwardedClientCert, subjectAltNames, type ClientCertInfo } from './xfcc.js';
import type { ClientCertDetailsRt } from '@minimesh/config/runtime';

const cache = new WeakMap<net.Socket, ClientCertInfo | null>();

export function clientCertInfo(socket: net.Socket, peerPrincipal: string | undefined): ClientCertInfo | undefined {
  if (peerPrincipal === undefined || !(socket instanceof tls.TLSSocket)) return undefined;
  let info = cache.get(socket);
  if (info === undefined) {
    const peer = socket.getPeerX509Certificate();
    const local = socket.getX509Certificate();
    info = peer === undefined ? null : { peer, localUri: local === undefined ? '' : (subjectAltNames(local).uri[0] ?? '') };
    cache.set(socket, info);
  }
  return info ?? undefined;
}

/** The `x-forwarded-client-cert` to send upstream (undefined: none), `existing` as the client sent it. */
export function upstreamXfcc(rt: ClientCertDetailsRt | undefined, existing: string | undefined, info: ClientCertInfo | undefined): string | undefined {
  const mode = rt?.mode ?? 'SANITIZE';
  const current = info === undefined || rt === undefined ? undefined : currentXfccElement(info, rt.set);
  return forwardedClientCert(mode, existing, current);
}
