/** Envoy's CORS filter (`envoy.filters.http.cors`), compiled: a route's or virtual host's CorsPolicy. */
import type { FaultPercentRt } from './fault-runtime.js';
import type { StringMatcherRt } from './match-runtime.js';

export const CORS_FILTER = 'envoy.filters.http.cors';

/**
 * `typed_per_filter_config` for the CORS filter. Unset fields fall back to the next policy
 * (route, then virtual host), as in Envoy; strings are empty when unset.
 */
export interface CorsPolicyRt {
  /** `allow_origin_string_match`; empty: unset (the virtual host's apply, else none). */
  readonly allowOrigins: readonly StringMatcherRt[];
  readonly allowMethods: string;
  readonly allowHeaders: string;
  readonly exposeHeaders: string;
  readonly maxAge: string;
  readonly allowCredentials: boolean | undefined;
  /** `forward_not_matching_preflights` (Envoy's default when unset everywhere: true). */
  readonly forwardNotMatchingPreflights: boolean | undefined;
  /** `filter_enabled` (default 100 %). */
  readonly filterEnabled: FaultPercentRt;
  /** `shadow_enabled` (default 0 %): origins are judged and counted, nothing enforced. */
  readonly shadowEnabled: FaultPercentRt;
}
