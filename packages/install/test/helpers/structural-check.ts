/**
 * Kubernetes' rules for a structural schema (the ones a CRD is refused for), checked
 * independently of the code that builds them: a type on every node outside junctors (unless
 * open), nothing but value checks inside junctors, no properties beside additionalProperties,
 * and every field named inside a junctor also named outside it.
 */
type Schema = { [k: string]: any };

const JUNCTORS = ['allOf', 'anyOf', 'oneOf', 'not'];
const FORBIDDEN_IN_JUNCTOR = ['type', 'nullable', 'description', 'default', 'additionalProperties', 'x-kubernetes-preserve-unknown-fields', 'x-kubernetes-int-or-string', 'x-kubernetes-embedded-resource'];

export function structuralProblems(s: Schema, where = '', inJunctor = false, skeleton?: Schema): string[] {
  const out: string[] = [];
  if (!inJunctor && !s.type && !s['x-kubernetes-preserve-unknown-fields'] && !s['x-kubernetes-int-or-string']) out.push(`${where || '/'}: no type`);
  if (inJunctor) for (const k of FORBIDDEN_IN_JUNCTOR) if (k in s) out.push(`${where}: ${k} inside a junctor`);
  if (s.properties && s.additionalProperties) out.push(`${where}: properties and additionalProperties`);
  if ('$ref' in s) out.push(`${where}: $ref`);
  if (s.type === 'array' && !s.items) out.push(`${where}: an array without items`);
  if (s.uniqueItems === true) out.push(`${where}: uniqueItems (refused in CRDs)`);
  const base = inJunctor ? skeleton : s;
  for (const [k, v] of Object.entries((s.properties ?? {}) as Record<string, Schema>)) {
    if (inJunctor && !base?.properties?.[k]) out.push(`${where}.${k}: named in a junctor only`);
    out.push(...structuralProblems(v, `${where}.${k}`, inJunctor, inJunctor ? base?.properties?.[k] : undefined));
  }
  if (s.items) {
    if (inJunctor && !base?.items) out.push(`${where}[]: items in a junctor only`);
    out.push(...structuralProblems(s.items, `${where}[]`, inJunctor, inJunctor ? base?.items : undefined));
  }
  if (s.additionalProperties && typeof s.additionalProperties === 'object') out.push(...structuralProblems(s.additionalProperties, `${where}.*`, false));
  for (const j of JUNCTORS) {
    if (!(j in s)) continue;
    const list: Schema[] = j === 'not' ? [s.not] : s[j];
    list.forEach((x, i) => out.push(...structuralProblems(x, `${where}/${j}[${i}]`, true, base)));
  }
  return out;
}
