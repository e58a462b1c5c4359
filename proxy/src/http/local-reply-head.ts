/** The head of a reply of the proxy's own (local replies, protocol errors), protocol-neutral. */
import type { HcmContext } from './hcm-context.js';
import type { ResponseHeaders } from './codec/headers.js';
import { httpDate } from './http-date.js';

/** `extra` headers, then content-length, content-type (with a body), date and server. */
export function localReplyHead(ctx: HcmContext, status: number, body: string, extra: Record<string, string> | undefined): ResponseHeaders {
  const names: string[] = [];
  const values: string[] = [];
  if (extra !== undefined) {
    for (const k of Object.keys(extra)) {
      names.push(k);
      values.push(extra[k]);
    }
  }
  names.push('content-length');
  values.push(String(Buffer.byteLength(body, 'latin1')));
  if (body.length > 0) {
    names.push('content-type');
    values.push('text/plain');
  }
  names.push('date');
  values.push(httpDate());
  if (ctx.hcm.serverHeaderTransformation !== 'PASS_THROUGH') {
    names.push('server');
    values.push(ctx.serverName);
  }
  return { status, names, values };
}
