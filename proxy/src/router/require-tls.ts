/**
 * A virtual host's `require_tls: ALL` (Istio's `httpsRedirect` on a Gateway server): a request
 * that came over plain text is answered, before any route is matched, with a 301 whose
 * Location is the same authority and path under https, as Envoy answers it.
 */
import type { LocalReply } from './local-reply.js';

export function httpsRedirect(authority: string, path: string): [LocalReply, Record<string, string>] {
  return [{ status: 301, body: '', flag: undefined, details: 'ssl_redirect' }, { location: `https://${authority}${path}` }];
}
