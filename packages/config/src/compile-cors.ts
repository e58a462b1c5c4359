/** `envoy.filters.http.cors`: the filter's config (Cors, no fields) and per-route CorsPolicy. */
import { TYPE_URL, unpackAny, type AnyLike, type CorsPolicy } from '@minimesh/api';
import { allowOnly, join, type Errors } from './errors.js';
import type { CorsPolicyRt } from './cors-runtime.js';
import type { FaultPercentRt } from './fault-runtime.js';
import type { StringMatcherRt } from './match-runtime.js';
import { compileStringMatcher } from './string-matcher.js';

const DENOMINATORS: Readonly<Record<string, number>> = { HUNDRED: 100, TEN_THOUSAND: 10_000, MILLION: 1_000_000 };

/** The filter's `typed_config`: Cors has no fields (the policies are per route); absent is fine. */
export function compileCorsFilter(any: AnyLike | undefined | null, path: string, errors: Errors): true {
  if (any !== undefined && any !== null && any.type_url !== TYPE_URL.Cors) errors.add(path, `expected ${TYPE_URL.Cors}`);
  return true;
}

type RuntimePercent = { default_value?: { numerator?: number; denominator?: string | number } | null; runtime_key?: string } | null | undefined;

/** RuntimeFractionalPercent: no runtime in minimesh, the default value is the fraction. */
function runtimePercent(p: RuntimePercent, fallback: number, path: string, errors: Errors): FaultPercentRt {
  if (p === undefined || p === null) return { numerator: fallback, denominator: 100 };
  allowOnly(p, path, ['default_value', 'runtime_key'], errors);
  const dv = p.default_value;
  if (dv === undefined || dv === null) return { numerator: 0, denominator: 100 };
  allowOnly(dv, join(path, 'default_value'), ['numerator', 'denominator'], errors);
  const denominator = typeof dv.denominator === 'number' ? [100, 10_000, 1_000_000][dv.denominator] : DENOMINATORS[dv.denominator ?? 'HUNDRED'];
  if (denominator === undefined) {
    errors.add(join(path, 'default_value.denominator'), `must be HUNDRED, TEN_THOUSAND or MILLION, not ${JSON.stringify(dv.denominator)}`);
    return { numerator: 0, denominator: 100 };
  }
  return { numerator: Math.min(dv.numerator ?? 0, denominator), denominator };
}

/** A `typed_per_filter_config` value holding a CorsPolicy. */
export function compileCorsPolicy(any: AnyLike | undefined | null, path: string, errors: Errors): CorsPolicyRt | undefined {
  if (any === undefined || any === null || any.type_url !== TYPE_URL.CorsPolicy) {
    errors.add(path, `expected ${TYPE_URL.CorsPolicy}`);
    return undefined;
  }
  const c = unpackAny<CorsPolicy>(any);
  allowOnly(c, path, ['allow_origin_string_match', 'allow_methods', 'allow_headers', 'expose_headers', 'max_age', 'allow_credentials', 'filter_enabled', 'shadow_enabled', 'forward_not_matching_preflights'], errors, [], {
    allow_private_network_access: 'allow_private_network_access is not supported by minimesh yet',
  });
  const allowOrigins: StringMatcherRt[] = [];
  (c.allow_origin_string_match ?? []).forEach((m, i) => {
    const r = compileStringMatcher(m, `${join(path, 'allow_origin_string_match')}[${i}]`, errors);
    if (r) allowOrigins.push(r);
  });
  const maxAge = c.max_age ?? '';
  if (maxAge !== '' && !/^\d+$/.test(maxAge)) errors.add(join(path, 'max_age'), `must be a number of seconds, not ${JSON.stringify(maxAge)}`);
  for (const f of ['allow_methods', 'allow_headers', 'expose_headers'] as const) {
    if (/[\r\n\0]/.test(c[f] ?? '')) errors.add(join(path, f), 'must not contain CR, LF or NUL');
  }
  return {
    allowOrigins,
    allowMethods: c.allow_methods ?? '',
    allowHeaders: c.allow_headers ?? '',
    exposeHeaders: c.expose_headers ?? '',
    maxAge,
    allowCredentials: c.allow_credentials?.value ?? undefined,
    forwardNotMatchingPreflights: c.forward_not_matching_preflights?.value ?? undefined,
    filterEnabled: runtimePercent(c.filter_enabled, 100, join(path, 'filter_enabled'), errors),
    shadowEnabled: runtimePercent(c.shadow_enabled, 0, join(path, 'shadow_enabled'), errors),
  };
}
