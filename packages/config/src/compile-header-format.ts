/**
 * A header value with Envoy's `%OPERATOR%`s -> parts, once at config time; a bad operator is a
 * config error naming the field. A value with no `%` has no parts at all (nothing per request).
 */
import { parseHeaderFormat, type HeaderFormatPart } from '@minimesh/mesh';
import type { Errors } from './errors.js';

export function compileHeaderFormat(value: string, path: string, errors: Errors): { value: string; format?: HeaderFormatPart[] } {
  const r = parseHeaderFormat(value);
  if ('error' in r) {
    errors.add(path, r.error);
    return { value };
  }
  return r;
}
