/**
 * Paths into an IstioOperator's `spec`, as `--set` writes them
 * (`components.ingressGateways[0].k8s.service.type`, `values.gateways.istio-ingressgateway.type`)
 * and as the leaves of a `-f` file's spec are reached.
 */
import { InstallValuesError } from './install-values.js';

/** A list element: by position (`[0]`) or by a field's value (`[name:istio-ingressgateway]`). */
export type ListSelector = { readonly index: number } | { readonly field: string; readonly value: string };
export type PathSegment = string | ListSelector;

/** One assignment: a path in the spec, its value, and where it was written. */
export interface Setting {
  readonly path: readonly PathSegment[];
  readonly value: unknown;
  /** `--set`, `--profile` or a file's path. */
  readonly origin: string;
}

/** `a.b[0].c` as it would be written with --set; `spec.` first for a file's key. */
export function formatPath(path: readonly PathSegment[], origin?: string): string {
  let s = '';
  for (const p of path) {
    if (typeof p === 'string') s += (s ? '.' : '') + p.replace(/\./g, '\\.');
    else s += 'index' in p ? `[${p.index}]` : `[${p.field}:${p.value}]`;
  }
  return isFile(origin) ? `spec.${s}` : s;
}

export const isFile = (origin: string | undefined): boolean => origin !== undefined && origin !== '--set' && origin !== '--profile';

/** `true`/`false` become booleans and plain numbers numbers, as Istio's --set reads them. */
export function parseSetValue(raw: string): unknown {
  if (raw === 'true') return true;
  if (raw === 'false') return false;
  if (/^-?(0|[1-9]\d*)(\.\d+)?$/.test(raw)) return Number(raw);
  return raw;
}

/** Splits `KEY=VALUE` and the key into segments (`\.` keeps a dot inside a segment). */
export function parseSetFlag(flag: string): Setting {
  const eq = flag.indexOf('=');
  if (eq <= 0) throw new InstallValuesError(`--set ${JSON.stringify(flag)}: expected KEY=VALUE, e.g. profile=demo`, flag, '--set');
  const key = flag.slice(0, eq);
  return { path: parseSetKey(key), value: parseSetValue(flag.slice(eq + 1)), origin: '--set' };
}

export function parseSetKey(key: string): PathSegment[] {
  const out: PathSegment[] = [];
  let cur = '';
  const bad = (why: string): never => {
    throw new InstallValuesError(`--set ${key}: ${why}`, key, '--set');
  };
  const flush = (): void => {
    if (cur === '') bad('empty path segment');
    out.push(cur);
    cur = '';
  };
  for (let i = 0; i < key.length; i++) {
    const c = key[i];
    if (c === '\\' && key[i + 1] === '.') {
      cur += '.';
      i++;
    } else if (c === '.') {
      if (cur !== '') flush();
      else if (typeof out[out.length - 1] !== 'object') bad('empty path segment');
    } else if (c === '[') {
      if (cur !== '') flush();
      const end = key.indexOf(']', i);
      if (end < 0) bad('unclosed [');
      out.push(parseSelector(key.slice(i + 1, end), bad));
      i = end;
    } else cur += c;
  }
  if (cur !== '') out.push(cur);
  else if (out.length === 0 || key.endsWith('.')) bad('empty path segment');
  return out;
}

function parseSelector(inner: string, bad: (why: string) => never): ListSelector {
  if (/^\d+$/.test(inner)) return { index: Number(inner) };
  const colon = inner.indexOf(':');
  if (colon > 0) return { field: inner.slice(0, colon), value: inner.slice(colon + 1) };
  return bad(`[${inner}]: expected a list index [N] or a selector [field:value]`);
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The leaves of a file's spec as settings (an empty object sets nothing). Objects are walked
 * key by key; the gateway lists
 * (`components.ingressGateways`, `components.egressGateways`) element by element; any
 * other list or scalar is one value.
 */
export function specSettings(spec: Record<string, unknown>, origin: string): Setting[] {
  const out: Setting[] = [];
  const walk = (v: unknown, path: PathSegment[]): void => {
    if (isPlainObject(v)) {
      for (const [k, x] of Object.entries(v)) walk(x, [...path, k]);
    } else if (Array.isArray(v) && path.length === 2 && path[0] === 'components' && /^(ingress|egress)Gateways$/.test(String(path[1]))) {
      v.forEach((x, index) => walk(x, [...path, { index }]));
    } else out.push({ path, value: v, origin });
  };
  walk(spec, []);
  return out;
}
