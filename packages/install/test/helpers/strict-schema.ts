/**
 * A CRD's structural schema as a JSON schema that rejects unknown fields, as the API server
 * does under `kubectl apply`'s strict field validation: objects with properties are closed;
 * `x-kubernetes-preserve-unknown-fields` objects stay open. Junctors keep their value checks.
 */
import { Ajv } from 'ajv';

type Schema = { [k: string]: unknown };

export function strictSchema(s: Schema, inJunctor = false): Schema {
  const out: Schema = {};
  for (const [k, v] of Object.entries(s)) {
    if (k === 'x-kubernetes-preserve-unknown-fields') continue;
    if (k === 'properties') out.properties = Object.fromEntries(Object.entries(v as Record<string, Schema>).map(([p, x]) => [p, strictSchema(x, inJunctor)]));
    else if (k === 'items' || k === 'additionalProperties' || k === 'not') out[k] = strictSchema(v as Schema, k === 'not' || (inJunctor && k !== 'additionalProperties'));
    else if (k === 'allOf' || k === 'anyOf' || k === 'oneOf') out[k] = (v as Schema[]).map((x) => strictSchema(x, true));
    else out[k] = v;
  }
  if (!inJunctor && s.properties && !s['x-kubernetes-preserve-unknown-fields']) out.additionalProperties = false;
  return out;
}

/** An ajv that knows the formats Istio's schemas name (their values are not what is tested). */
export function newAjv(): Ajv {
  return new Ajv({ allErrors: true, strict: false, strictSchema: true, formats: { int32: true, int64: true, double: true, float: true, binary: true, byte: true, 'date-time': true } });
}
