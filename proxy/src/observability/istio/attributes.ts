/**
 * Evaluates the attribute expressions of Telemetry `tagOverrides` (compiled by
 * @minimesh/config) against one finished request. Only runs when a metric has such a tag.
 */
import type { AttributeExpr } from '@minimesh/config';
import { UNKNOWN } from '@minimesh/mesh';
import type { AccessRecord } from '../access-log.js';

/** What an expression may read of a request: what its access log line reads. */
export type RequestAttributes = Pick<AccessRecord, 'method' | 'path' | 'protocol' | 'responseCode' | 'reqHeader'>;

export function evaluate(e: AttributeExpr, r: RequestAttributes): string {
  switch (e.kind) {
    case 'literal':
      return e.value;
    case 'response_code':
      return String(r.responseCode);
    case 'request_header':
      return r.reqHeader(e.name) ?? UNKNOWN;
    case 'request':
      switch (e.field) {
        case 'host':
          return r.reqHeader('host') || UNKNOWN;
        case 'method':
          return r.method;
        case 'path':
          return r.path;
        case 'url_path': {
          const q = r.path.indexOf('?');
          return q === -1 ? r.path : r.path.slice(0, q);
        }
        case 'scheme':
          return 'http';
        case 'protocol':
          return r.protocol;
        case 'useragent':
          return r.reqHeader('user-agent') ?? UNKNOWN;
        case 'id':
          return r.reqHeader('x-request-id') || UNKNOWN;
      }
  }
}
