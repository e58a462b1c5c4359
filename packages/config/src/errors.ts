/** Error collection and field allowlists shared by the compilers. */
import type { ConfigError } from './runtime.js';

/** Collects errors (never stops at the first one). */
export class Errors {
  readonly list: ConfigError[] = [];
  add(path: string, message: string): void {
    this.list.push({ path, message });
  }
  get count(): number {
    return this.list.length;
  }
}

export function join(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

export const NOT_SUPPORTED = 'field not supported by minimesh';

/**
 * Rejects every set field of `obj` that is not in `allowed`. `oneofs` names the virtual oneof
 * fields protobufjs adds (they are not real fields). `special` gives a custom message for a
 * field, e.g. "not supported yet".
 */
export function allowOnly(
  obj: object | null | undefined,
  path: string,
  allowed: readonly string[],
  errors: Errors,
  oneofs: readonly string[] = [],
  special: Readonly<Record<string, string>> = {},
): void {
  if (!obj) return;
  for (const [k, v] of Object.entries(obj)) {
    if (v === undefined || v === null) continue;
    if (allowed.includes(k) || oneofs.includes(k)) continue;
    errors.add(join(path, k), special[k] ?? NOT_SUPPORTED);
  }
}

/** Converts a google.protobuf.Struct (plain-object form) into ordinary JSON. */
export function structToJson(s: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const fields = (s as { fields?: Record<string, unknown> } | undefined)?.fields ?? {};
  for (const [k, v] of Object.entries(fields)) out[k] = valueToJson(v);
  return out;
}

export function valueToJson(v: unknown): unknown {
  const x = v as Record<string, unknown> | undefined;
  if (!x) return null;
  switch (x.kind) {
    case 'nullValue':
      return null;
    case 'numberValue':
      return x.numberValue;
    case 'stringValue':
      return x.stringValue;
    case 'boolValue':
      return x.boolValue;
    case 'structValue':
      return structToJson(x.structValue);
    case 'listValue':
      return ((x.listValue as { values?: unknown[] } | undefined)?.values ?? []).map(valueToJson);
    default:
      return null;
  }
}
