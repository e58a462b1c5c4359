/**
 * VirtualService `corsPolicy` -> the CORS filter's per-route CorsPolicy, as Istio writes it
 * (pilot's route translation): origins as string matchers (the deprecated `allowOrigin` as
 * exact ones when `allowOrigins` is unset), the lists joined with ",", `maxAge` in whole
 * seconds, the filter enabled at 100 %, and `forward_not_matching_preflights` true unless
 * `unmatchedPreflights: IGNORE`.
 */
import { parseDurationMs, type CorsPolicy } from '@minimesh/kube';
import { compact, TYPE, type JsonObject } from './envoy-json.js';
import { translateStringMatch } from './translate-match.js';

export function translateCorsPolicy(c: CorsPolicy): JsonObject {
  const origins = c.allowOrigins !== undefined ? c.allowOrigins.map((m) => translateStringMatch(m)) : c.allowOrigin?.map((o) => ({ exact: o }));
  const join = (l: string[] | undefined): string | undefined => (l === undefined || l.length === 0 ? undefined : l.join(','));
  const maxAgeMs = c.maxAge === undefined ? undefined : parseDurationMs(c.maxAge);
  return compact({
    '@type': TYPE.CorsPolicy,
    allow_origin_string_match: origins,
    allow_methods: join(c.allowMethods),
    allow_headers: join(c.allowHeaders),
    expose_headers: join(c.exposeHeaders),
    max_age: maxAgeMs === undefined ? undefined : String(Math.floor(maxAgeMs / 1000)),
    allow_credentials: c.allowCredentials,
    filter_enabled: { default_value: { numerator: 100, denominator: 'HUNDRED' } },
    forward_not_matching_preflights: c.unmatchedPreflights !== 'IGNORE',
  });
}
