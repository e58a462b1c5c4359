/**
 * Walks proto3 JSON (as parsed from YAML or JSON) against a message descriptor before
 * proto3-json-serializer sees it, because that library silently drops what it does not
 * know. Every field is checked to exist (snake_case or camelCase name), to have the
 * right JSON kind, and at most one member per oneof; `Any`s are followed through their
 * `@type`. The result is the same JSON with every field under its proto (snake_case) name.
 */
import protobuf from 'protobufjs';

export interface FieldError {
  readonly path: string;
  readonly message: string;
}

const WRAPPERS: Record<string, string> = {
  '.google.protobuf.DoubleValue': 'double',
  '.google.protobuf.FloatValue': 'float',
  '.google.protobuf.Int64Value': 'int64',
  '.google.protobuf.UInt64Value': 'uint64',
  '.google.protobuf.Int32Value': 'int32',
  '.google.protobuf.UInt32Value': 'uint32',
  '.google.protobuf.BoolValue': 'bool',
  '.google.protobuf.StringValue': 'string',
  '.google.protobuf.BytesValue': 'bytes',
};
const STRING_WKT = new Set(['.google.protobuf.Duration', '.google.protobuf.Timestamp', '.google.protobuf.FieldMask']);

/** protobuf's JSON name of a field: `filter_chains` -> `filterChains`. */
export function jsonNameOf(name: string): string {
  return name.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

const byJsonName = new WeakMap<protobuf.Type, Map<string, protobuf.Field>>();
function fieldByName(type: protobuf.Type, key: string): protobuf.Field | undefined {
  const f = type.fields[key];
  if (f) return f;
  let m = byJsonName.get(type);
  if (!m) {
    m = new Map();
    for (const fl of type.fieldsArray) m.set(jsonNameOf(fl.name), fl);
    byJsonName.set(type, m);
  }
  return m.get(key);
}

function join(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'list';
  return typeof v;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function checkScalar(type: string, v: unknown, path: string, errors: FieldError[]): unknown {
  switch (type) {
    case 'string':
      if (typeof v === 'string') return v;
      break;
    case 'bytes':
      if (typeof v === 'string') return v;
      break;
    case 'bool':
      if (typeof v === 'boolean') return v;
      break;
    case 'double':
    case 'float':
      if (typeof v === 'number' || (typeof v === 'string' && /^(-?[0-9.eE+-]+|NaN|-?Infinity)$/.test(v))) return v;
      break;
    default: {
      // integer types
      const unsigned = type.startsWith('u') || type.startsWith('fixed');
      const ok =
        (typeof v === 'number' && Number.isInteger(v) && (!unsigned || v >= 0)) ||
        (typeof v === 'string' && (unsigned ? /^[0-9]+$/ : /^-?[0-9]+$/).test(v));
      if (ok) {
        const n = Number(v);
        if ((type.endsWith('32') && (n > 0xffffffff || n < -0x80000000)) || (type === 'uint32' && n > 0xffffffff)) {
          errors.push({ path, message: `value ${String(v)} out of range for ${type}` });
        }
        return v;
      }
      errors.push({ path, message: `expected ${unsigned ? 'a non-negative ' : 'an '}integer (${type}), got ${kindOf(v)} ${JSON.stringify(v)}` });
      return undefined;
    }
  }
  errors.push({ path, message: `expected ${type}, got ${kindOf(v)} ${JSON.stringify(v)}` });
  return undefined;
}

function checkValue(field: protobuf.Field, v: unknown, path: string, errors: FieldError[], root: protobuf.Root): unknown {
  const rt = field.resolvedType;
  if (rt instanceof protobuf.Type) return checkMessage(rt, v, path, errors, root);
  if (rt instanceof protobuf.Enum) {
    if (typeof v === 'string' && Object.prototype.hasOwnProperty.call(rt.values, v)) return v;
    if (typeof v === 'number' && Number.isInteger(v)) return v;
    errors.push({ path, message: `invalid value ${JSON.stringify(v)} for enum ${rt.name} (one of ${Object.keys(rt.values).join(', ')})` });
    return undefined;
  }
  return checkScalar(field.type, v, path, errors);
}

/** Checks `json` against message `type`; returns it with canonical field names, pushing errors. */
export function checkMessage(
  type: protobuf.Type,
  json: unknown,
  path: string,
  errors: FieldError[],
  root: protobuf.Root = type.root as protobuf.Root,
): unknown {
  const full = type.fullName;
  if (full === '.google.protobuf.Value') return json;
  const w = WRAPPERS[full];
  if (w) return checkScalar(w, json, path, errors);
  if (json === null) return null;
  if (STRING_WKT.has(full)) {
    if (typeof json !== 'string') {
      errors.push({ path, message: `expected a string (${type.name}, e.g. "1.5s"), got ${kindOf(json)}` });
      return undefined;
    }
    if (full === '.google.protobuf.Duration' && /^-[0-9]+(\.[0-9]{1,9})?s$/.test(json)) {
      // The proto3 JSON reader cannot take a negative Duration (and no Envoy timeout wants one).
      errors.push({ path, message: `negative duration ${JSON.stringify(json)} (a duration here must be 0s or more)` });
      return undefined;
    }
    if (full === '.google.protobuf.Duration' && !/^[0-9]+(\.[0-9]{1,9})?s$/.test(json)) {
      errors.push({ path, message: `invalid duration ${JSON.stringify(json)} (expected seconds with an "s" suffix, e.g. "0.25s")` });
      return undefined;
    }
    return json;
  }
  if (full === '.google.protobuf.ListValue') {
    if (!Array.isArray(json)) errors.push({ path, message: `expected a list, got ${kindOf(json)}` });
    return json;
  }
  if (!isObject(json)) {
    errors.push({ path, message: `expected an object (${type.name}), got ${kindOf(json)}` });
    return undefined;
  }
  if (full === '.google.protobuf.Struct') return json;
  if (full === '.google.protobuf.Any') return checkAny(json, path, errors, root);

  const out: Record<string, unknown> = {};
  const oneofSeen = new Map<string, string>();
  for (const [key, v] of Object.entries(json)) {
    const p = join(path, key);
    const field = fieldByName(type, key);
    if (!field) {
      errors.push({ path: p, message: 'unknown field' });
      continue;
    }
    if (Object.prototype.hasOwnProperty.call(out, field.name)) {
      errors.push({ path: p, message: `field given twice (as ${field.name} and ${jsonNameOf(field.name)})` });
      continue;
    }
    if (v === null) continue;
    const oneof = field.partOf;
    if (oneof && oneof.oneof.length > 1) {
      const other = oneofSeen.get(oneof.name);
      if (other) {
        errors.push({ path: p, message: `only one of ${oneof.oneof.join(', ')} may be set (${other} is set too)` });
        continue;
      }
      oneofSeen.set(oneof.name, field.name);
    }
    if (field.map) {
      if (!isObject(v)) {
        errors.push({ path: p, message: `expected a map (object), got ${kindOf(v)}` });
        continue;
      }
      const m: Record<string, unknown> = {};
      for (const [mk, mv] of Object.entries(v)) m[mk] = checkValue(field, mv, `${p}.${mk}`, errors, root);
      out[field.name] = m;
    } else if (field.repeated) {
      if (!Array.isArray(v)) {
        errors.push({ path: p, message: `expected a list, got ${kindOf(v)}` });
        continue;
      }
      out[field.name] = v.map((e, i) => checkValue(field, e, `${p}[${i}]`, errors, root));
    } else {
      out[field.name] = checkValue(field, v, p, errors, root);
    }
  }
  return out;
}

function checkAny(json: Record<string, unknown>, path: string, errors: FieldError[], root: protobuf.Root): unknown {
  const url = json['@type'];
  if (typeof url !== 'string') {
    errors.push({ path: join(path, '@type'), message: 'missing "@type" on a typed (Any) field' });
    return undefined;
  }
  const name = url.slice(url.lastIndexOf('/') + 1);
  let inner: protobuf.Type;
  try {
    inner = root.lookupType(name);
  } catch {
    errors.push({ path: join(path, '@type'), message: `unknown or unsupported type ${url}` });
    return undefined;
  }
  const { ['@type']: _t, ...rest } = json;
  const full = inner.fullName;
  if (WRAPPERS[full] || STRING_WKT.has(full) || full.startsWith('.google.protobuf.') && ['Struct', 'Value', 'ListValue'].includes(inner.name)) {
    const keys = Object.keys(rest).filter((k) => k !== 'value');
    for (const k of keys) errors.push({ path: join(path, k), message: 'unknown field' });
    return { '@type': url, value: checkMessage(inner, rest.value, join(path, 'value'), errors, root) };
  }
  const body = checkMessage(inner, rest, path, errors, root);
  return isObject(body) ? { '@type': url, ...body } : undefined;
}
