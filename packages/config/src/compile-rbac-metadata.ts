/**
 * RBAC `metadata` rules (Envoy's `type.matcher.v3.MetadataMatcher` over dynamic metadata):
 * the value at `filter` / `path` is matched by a ValueMatcher, then `invert` applies. A
 * missing value is matched only by `present_match: false` (Envoy's Metadata::match on an unset
 * Value). The metadata comes from jwt_authn: a verified token's payload under
 * `envoy.filters.http.jwt_authn` / `payload`, where Istio's request-principal and claim rules look.
 */
import type { RbacPermission } from '@minimesh/api';
import { allowOnly, join, type Errors } from './errors.js';
import { compileStringMatcher, matchString } from './string-matcher.js';
import type { RbacMatcher } from './rbac-runtime.js';

type MetadataMatcher = NonNullable<RbacPermission['metadata']>;
type ValueMatcher = NonNullable<MetadataMatcher['value']>;
type ValueTest = (v: unknown) => boolean;

function compileValue(v: ValueMatcher | undefined, path: string, errors: Errors): ValueTest {
  if (!v) {
    errors.add(path, 'value is required');
    return () => false;
  }
  allowOnly(v, path, ['null_match', 'double_match', 'string_match', 'bool_match', 'present_match', 'list_match', 'or_match'], errors, ['match_pattern']);
  switch (v.match_pattern) {
    case 'null_match':
      return (x) => x === null;
    case 'bool_match':
      return (x) => x === (v.bool_match === true);
    case 'present_match':
      return (x) => (x !== undefined) === (v.present_match === true);
    case 'string_match': {
      const sm = compileStringMatcher(v.string_match, join(path, 'string_match'), errors);
      return (x) => sm !== undefined && typeof x === 'string' && matchString(sm, x);
    }
    case 'double_match': {
      const d = v.double_match;
      allowOnly(d, join(path, 'double_match'), ['range', 'exact'], errors, ['match_pattern']);
      if (d?.match_pattern === 'exact') return (x) => x === d.exact;
      const start = d?.range?.start ?? 0;
      const end = d?.range?.end ?? 0;
      return (x) => typeof x === 'number' && x >= start && x < end;
    }
    case 'list_match': {
      const inner = compileValue(v.list_match?.one_of ?? undefined, join(join(path, 'list_match'), 'one_of'), errors);
      return (x) => Array.isArray(x) && x.some(inner);
    }
    case 'or_match': {
      const ms = (v.or_match?.value_matchers ?? []).map((m, k) => compileValue(m, `${join(join(path, 'or_match'), 'value_matchers')}[${k}]`, errors));
      return (x) => ms.some((m) => m(x));
    }
    default:
      errors.add(path, 'a value matcher is required');
      return () => false;
  }
}

export function compileMetadataMatcher(m: MetadataMatcher | undefined, path: string, errors: Errors): RbacMatcher {
  allowOnly(m, path, ['filter', 'path', 'value', 'invert'], errors);
  if (!m?.filter) errors.add(join(path, 'filter'), 'must not be empty');
  const keys = (m?.path ?? []).map((s) => s.key ?? '');
  if (keys.length === 0) errors.add(join(path, 'path'), 'must hold at least one key');
  const test = compileValue(m?.value, join(path, 'value'), errors);
  const invert = m?.invert === true;
  const filter = m?.filter ?? '';
  return (i) => {
    let v: unknown = i.metadata?.[filter];
    for (const k of keys) v = v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>)[k] : undefined;
    return test(v) !== invert;
  };
}
