/**
 * Envoy's `headers_with_underscores_action` in the codecs, before any filter sees the request:
 * DROP_HEADER removes each header whose name has an underscore (`httpN.dropped_headers_with_underscores`),
 * REJECT_REQUEST refuses the request (HTTP/1.1: 400, HTTP/2: the stream is reset;
 * `httpN.requests_rejected_with_underscores_in_headers`). ALLOW (the default) does nothing.
 */
import type { HttpConnectionManagerRt } from '@minimesh/config/runtime';
import type { HeaderList } from './headers.js';

/** The codec's counters (`http1.*` / `http2.*`). */
export class CodecStats {
  dropped_headers_with_underscores = 0;
  requests_rejected_with_underscores_in_headers = 0;
}

/** Applies the action to `head`; false when the request must be refused. */
export function underscoreHeadersAllowed(hcm: HttpConnectionManagerRt, head: HeaderList, stats: CodecStats | undefined): boolean {
  const action = hcm.headersWithUnderscores;
  if (action === undefined) return true;
  const names = head.names as string[];
  const values = head.values as string[];
  for (let i = 0; i < names.length; i++) {
    if (!names[i].includes('_')) continue;
    if (action === 'REJECT_REQUEST') {
      if (stats !== undefined) stats.requests_rejected_with_underscores_in_headers++;
      return false;
    }
    names.splice(i, 1);
    values.splice(i, 1);
    i--;
    if (stats !== undefined) stats.dropped_headers_with_underscores++;
  }
  return true;
}
