/**
 * Envoy bootstrap (and any other resource) from YAML or JSON text, validated field by field.
 */
import YAML from 'yaml';
import { fromProto3JSON } from 'proto3-json-serializer';
import type { JSONObject } from 'proto3-json-serializer/build/src/types.js';
import { checkMessage, type FieldError } from './json-check.js';
import { lookupType, TO_OBJECT_OPTIONS, TYPE_URL } from './protos.js';
import type { Bootstrap } from './types.js';

export type ParseResult<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly errors: readonly FieldError[] };

/**
 * Parses YAML (JSON is YAML too) into plain data. Syntax errors carry
 * `source:line:column` as their path.
 */
export function parseYaml(text: string, source: string): ParseResult<unknown> {
  const doc = YAML.parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      errors: doc.errors.map((e) => {
        const lp = e.linePos?.[0];
        return { path: lp ? `${source}:${lp.line}:${lp.col}` : source, message: `YAML syntax error: ${e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '')}` };
      }),
    };
  }
  return { ok: true, value: doc.toJS({ maxAliasCount: 1000 }) };
}

/**
 * Turns proto3 JSON data into the plain-object form of message `typeUrl` (see
 * TO_OBJECT_OPTIONS), reporting every unknown field, wrong kind or bad enum by path.
 * Accepts snake_case and camelCase field names. `Any`s stay packed: use `unpackAny`.
 */
export function fromJsonData<T = unknown>(typeUrl: string, data: unknown, basePath = ''): ParseResult<T> {
  const type = lookupType(typeUrl);
  const errors: FieldError[] = [];
  const canonical = checkMessage(type, data ?? {}, basePath, errors);
  if (errors.length > 0) return { ok: false, errors };
  try {
    const msg = fromProto3JSON(type, canonical as JSONObject);
    if (!msg) return { ok: false, errors: [{ path: basePath, message: 'empty message' }] };
    const err = type.verify(msg);
    if (err) return { ok: false, errors: [{ path: basePath, message: err }] };
    return { ok: true, value: type.toObject(msg, TO_OBJECT_OPTIONS) as T };
  } catch (e) {
    return { ok: false, errors: [{ path: basePath, message: (e as Error).message }] };
  }
}

/** Parses an Envoy bootstrap given as YAML or JSON text. `source` names it in syntax errors. */
export function parseBootstrap(text: string, source: string): ParseResult<Bootstrap> {
  const y = parseYaml(text, source);
  if (!y.ok) return y;
  if (y.value !== null && y.value !== undefined && (typeof y.value !== 'object' || Array.isArray(y.value))) {
    return { ok: false, errors: [{ path: source, message: 'a bootstrap must be a mapping at the top level' }] };
  }
  return fromJsonData<Bootstrap>(TYPE_URL.Bootstrap, y.value);
}

/** Parses one resource of type `typeUrl` (Listener, Cluster, ...) from YAML or JSON text. */
export function parseResource<T = unknown>(typeUrl: string, text: string, source: string): ParseResult<T> {
  const y = parseYaml(text, source);
  if (!y.ok) return y;
  return fromJsonData<T>(typeUrl, y.value);
}
