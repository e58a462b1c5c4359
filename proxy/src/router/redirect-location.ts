/** Envoy's redirect action: the Location a redirect route answers with. */
import type { RedirectActionRt } from '@minimesh/config/runtime';

/** Envoy's redirect: each part of the URL replaced as the route says, the rest kept. */
export function redirectLocation(a: RedirectActionRt, authority: string, path: string, matchedPrefix: string): string {
  const scheme = a.httpsRedirect ? 'https' : (a.schemeRedirect ?? 'http');
  let host = a.hostRedirect ?? authority;
  if (a.portRedirect !== undefined) host = `${host.replace(/:\d+$/, '')}:${a.portRedirect}`;
  else if (a.httpsRedirect || a.schemeRedirect !== undefined) host = host.replace(/:\d+$/, '');
  const q = path.indexOf('?');
  let p = q === -1 ? path : path.slice(0, q);
  const query = q === -1 || a.stripQuery ? '' : path.slice(q);
  if (a.pathRedirect !== undefined) p = a.pathRedirect;
  else if (a.prefixRewrite !== undefined) p = a.prefixRewrite + p.slice(matchedPrefix.length);
  return `${scheme}://${host}${p}${a.pathRedirect !== undefined && a.pathRedirect.includes('?') ? '' : query}`;
}
