/** VirtualService `headers` values: Envoy's `%OPERATOR%`s must be ones the proxy evaluates. */
import { parseHeaderFormat } from '@minimesh/mesh';
import { at, isObject } from './check.js';
import type { IssueCollector } from './issues.js';

/** `set` / `add` maps (their shape is checked elsewhere). */
export function checkHeaderValues(c: IssueCollector, v: unknown, path: string): void {
  if (!isObject(v)) return;
  for (const [k, value] of Object.entries(v)) {
    if (typeof value !== 'string') continue;
    const r = parseHeaderFormat(value);
    if ('error' in r) c.error(at(path, k), r.error);
  }
}
