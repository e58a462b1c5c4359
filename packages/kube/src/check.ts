/** Small shape checks shared by the validators. Each reports `field: message` to a collector. */
import type { IssueCollector } from './issues.js';

export const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export const at = (path: string, key: string | number): string => (typeof key === 'number' ? `${path}[${key}]` : path ? `${path}.${key}` : key);

/**
 * Fields of `obj`: `known` ones pass, `untranslated` ones are known to Istio but change behaviour
 * minimesh does not implement (a warning naming what is ignored), anything else is an error.
 */
export function checkFields(
  c: IssueCollector,
  obj: unknown,
  path: string,
  known: readonly string[],
  untranslated: readonly string[] = [],
): obj is Record<string, unknown> {
  if (obj === undefined || obj === null) return false;
  if (!isObject(obj)) {
    c.error(path, 'must be an object');
    return false;
  }
  for (const k of Object.keys(obj)) {
    if (known.includes(k)) continue;
    if (untranslated.includes(k)) c.warn(at(path, k), 'is not translated by minimesh yet and is ignored');
    else c.error(at(path, k), 'unknown field');
  }
  return true;
}

export function checkString(c: IssueCollector, v: unknown, path: string, required = false): v is string {
  if (v === undefined || v === null) {
    if (required) c.error(path, 'is required');
    return false;
  }
  if (typeof v !== 'string') {
    c.error(path, 'must be a string');
    return false;
  }
  if (required && v === '') {
    c.error(path, 'must not be empty');
    return false;
  }
  return true;
}

export function checkInt(c: IssueCollector, v: unknown, path: string, min: number, max: number, required = false): v is number {
  if (v === undefined || v === null) {
    if (required) c.error(path, 'is required');
    return false;
  }
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    c.error(path, `must be an integer ${min}..${max}`);
    return false;
  }
  return true;
}

export function checkNumber(c: IssueCollector, v: unknown, path: string, min: number, max: number): v is number {
  if (v === undefined || v === null) return false;
  if (typeof v !== 'number' || Number.isNaN(v) || v < min || v > max) {
    c.error(path, `must be a number ${min}..${max}`);
    return false;
  }
  return true;
}

export function checkArray(c: IssueCollector, v: unknown, path: string, required = false): v is unknown[] {
  if (v === undefined || v === null) {
    if (required) c.error(path, 'is required');
    return false;
  }
  if (!Array.isArray(v)) {
    c.error(path, 'must be a list');
    return false;
  }
  return true;
}

export function checkStringMap(c: IssueCollector, v: unknown, path: string): v is Record<string, string> {
  if (v === undefined || v === null) return false;
  if (!isObject(v)) {
    c.error(path, 'must be a map of strings');
    return false;
  }
  let ok = true;
  for (const [k, x] of Object.entries(v)) {
    if (typeof x !== 'string') {
      c.error(at(path, k), 'must be a string');
      ok = false;
    }
  }
  return ok;
}

/** Istio's duration syntax (`1s`, `500ms`, `1h2m`, `0.5s`), as protobuf Duration in its JSON form or Go's. */
const DURATION = /^(\d+(\.\d+)?(h|m|s|ms|us|µs|ns))+$/;

/** Milliseconds of a duration string, or undefined if malformed. */
export function parseDurationMs(s: string): number | undefined {
  if (!DURATION.test(s)) return undefined;
  let ms = 0;
  for (const m of s.matchAll(/(\d+(?:\.\d+)?)(h|ms|m|s|us|µs|ns)/g)) {
    const n = Number(m[1]);
    const unit = m[2];
    ms += unit === 'h' ? n * 3_600_000 : unit === 'm' ? n * 60_000 : unit === 's' ? n * 1000 : unit === 'ms' ? n : unit === 'ns' ? n / 1e6 : n / 1000;
  }
  return ms;
}

export function checkDuration(c: IssueCollector, v: unknown, path: string, minMs = 0): v is string {
  if (v === undefined || v === null) return false;
  if (typeof v !== 'string' || parseDurationMs(v) === undefined) {
    c.error(path, 'must be a duration such as 1s or 500ms');
    return false;
  }
  if (parseDurationMs(v)! < minMs) {
    c.error(path, `must be at least ${minMs}ms`);
    return false;
  }
  return true;
}

export function checkPercentage(c: IssueCollector, v: unknown, path: string): void {
  if (!checkFields(c, v, path, ['value'])) return;
  checkNumber(c, v.value, at(path, 'value'), 0, 100);
}

const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
export function checkLabels(c: IssueCollector, v: unknown, path: string): void {
  if (!checkStringMap(c, v, path)) return;
  for (const [k, x] of Object.entries(v)) if (x.length > 63 || !LABEL_VALUE.test(x)) c.error(at(path, k), `invalid label value ${JSON.stringify(x)}`);
}
