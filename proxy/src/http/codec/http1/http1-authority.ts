/** The authority of an HTTP/1.x request, as the connection manager routes it. */
import type { RequestHead } from '../../head-parser.js';

/**
 * Sets `head.authority`: the absolute-form (or CONNECT's authority-form) target when there is
 * one, else the one Host header. Returns why the request is malformed (a 400), or undefined:
 * more than one Host header, or none on HTTP/1.1.
 */
export function setRequestAuthority(head: RequestHead): string | undefined {
  let host: string | undefined;
  for (let i = 0; i < head.names.length; i++) {
    if (head.names[i] !== 'host') continue;
    if (host !== undefined) return 'more than one host header';
    host = head.values[i];
  }
  if (head.targetAuthority !== '') return undefined;
  if (host === undefined) return head.minor === 1 ? 'missing host header' : undefined;
  head.authority = host;
  return undefined;
}
