/**
 * A JSON schema as @kubernetes-models/istio ships it, made into a structural schema the API
 * server accepts in a CRD (Kubernetes' rules for `openAPIV3Schema`):
 * - every node outside allOf/anyOf/oneOf/not has a `type`; inside them only value checks stay
 *   (`required`, `properties`, `items`, enums, formats...), no `type` or `nullable`;
 * - an object with neither properties nor additionalProperties is open (a protobuf Struct such as
 *   EnvoyFilter's `patch.value` or WasmPlugin's `pluginConfig`): `x-kubernetes-preserve-unknown-fields`;
 * - `nullable` (the package adds it to every optional field; Istio's CRDs do not have it) is dropped;
 * - `properties: {}` beside `additionalProperties` (a map) is dropped: a CRD cannot have both.
 * A keyword not known here is an error, so a new package version cannot slip one past.
 */
import type { JsonSchema } from './istio-schemas.js';

const JUNCTORS = ['allOf', 'anyOf', 'oneOf'] as const;
/** Value checks kept as they are. */
const VALUE_KEYWORDS = new Set(['format', 'enum', 'pattern', 'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'minLength', 'maxLength', 'minItems', 'maxItems', 'uniqueItems', 'minProperties', 'maxProperties', 'required', 'multipleOf']);
const STRUCTURE_KEYWORDS = new Set(['type', 'nullable', 'properties', 'additionalProperties', 'items', 'not', 'description', ...JUNCTORS]);

export function toStructuralSchema(s: JsonSchema, where = ''): JsonSchema {
  return convert(s, false, where);
}

function convert(s: JsonSchema, inJunctor: boolean, where: string): JsonSchema {
  for (const k of Object.keys(s)) {
    if (!VALUE_KEYWORDS.has(k) && !STRUCTURE_KEYWORDS.has(k)) throw new Error(`schema ${where || '/'}: keyword ${JSON.stringify(k)} has no structural form here`);
  }
  const out: JsonSchema = {};
  const type = s.type;
  if (type !== undefined && typeof type !== 'string') throw new Error(`schema ${where}: type ${JSON.stringify(type)} is not a single type`);
  if (!inJunctor) {
    if (type === undefined) throw new Error(`schema ${where || '/'}: no type`);
    out.type = type;
    if (typeof s.description === 'string') out.description = s.description;
  }
  for (const k of Object.keys(s)) if (VALUE_KEYWORDS.has(k)) out[k] = structuredClone(s[k]);
  const props = (s.properties ?? {}) as Record<string, JsonSchema>;
  const hasProps = Object.keys(props).length > 0;
  const addl = s.additionalProperties;
  if (addl !== undefined && typeof addl !== 'object') throw new Error(`schema ${where}: additionalProperties ${JSON.stringify(addl)} is not a schema`);
  if (hasProps && addl) throw new Error(`schema ${where}: both properties and additionalProperties`);
  if (hasProps) out.properties = Object.fromEntries(Object.entries(props).map(([k, v]) => [k, convert(v, inJunctor, `${where}.${k}`)]));
  if (addl) {
    if (inJunctor) throw new Error(`schema ${where}: additionalProperties inside a junctor`);
    out.additionalProperties = convert(addl as JsonSchema, false, `${where}.*`);
  }
  if (!inJunctor && type === 'object' && !hasProps && !addl) out['x-kubernetes-preserve-unknown-fields'] = true;
  if (s.items !== undefined) {
    if (typeof s.items !== 'object' || Array.isArray(s.items)) throw new Error(`schema ${where}: items is not one schema`);
    out.items = convert(s.items as JsonSchema, inJunctor, `${where}[]`);
  }
  for (const j of JUNCTORS) {
    const list = s[j];
    if (list === undefined) continue;
    if (!Array.isArray(list)) throw new Error(`schema ${where}: ${j} is not a list`);
    out[j] = list.map((x: JsonSchema, i) => convert(x, true, `${where}/${j}[${i}]`));
  }
  if (s.not !== undefined) out.not = convert(s.not as JsonSchema, true, `${where}/not`);
  return out;
}
