/**
 * Envoy's CORS filter (`envoy.filters.http.cors`) in the proxy. The policies are the route's
 * and the virtual host's `typed_per_filter_config` (a field set on the route wins); a route
 * with neither, a direct response or a redirect is not touched, nor is a request without an
 * `Origin`. A preflight (OPTIONS with `Origin` and `Access-Control-Request-Method`) is
 * answered by the proxy (200, details `cors_response`) unless its origin is not allowed and
 * `forward_not_matching_preflights` (default true) sends it upstream; an actual request from an
 * allowed origin gets `access-control-allow-origin` (and `-credentials`, `-expose-headers`) on
 * its response, and so do the router's own replies to it. Stats are Envoy's:
 * `http.<prefix>.cors.origin_valid` / `origin_invalid`; `shadow_enabled` alone judges and counts
 * the origin but enforces nothing.
 */
import type { CorsPolicyRt, FaultPercentRt, RouteRt, VirtualHostRt } from '@minimesh/config';
import { matchString } from '@minimesh/config';
import type { HeaderValueOptionRt } from '@minimesh/config/runtime';
import { getHeader, type RequestHeaders } from './codec/headers.js';
import type { HeaderMutationLevel } from '../router/header-mutation.js';
import type { LocalReply } from '../router/local-reply.js';
import type { StatsRegistry } from '../observability/stats.js';

/** Envoy's CORS filter stats (`http.<stat_prefix>.cors.*`), one set per connection manager. */
export class CorsStats {
  origin_valid = 0;
  origin_invalid = 0;
}

/** The connection manager's CORS filter (in its chain): its stats. */
export function corsStats(inChain: boolean | undefined, registry: StatsRegistry, hcmStatPrefix: string): CorsStats | undefined {
  return inChain === true ? registry.rbacScope(`http.${hcmStatPrefix}.cors.`, () => new CorsStats(), hcmStatPrefix) : undefined;
}

export const CORS_PREFLIGHT_REPLY: LocalReply = { status: 200, body: '', flag: undefined, details: 'cors_response' };

export interface CorsOutcome {
  /** A preflight the proxy answers: the reply's CORS headers. */
  readonly preflight?: Record<string, string>;
  /** An actual request from an allowed origin: the headers its response gets (last, over the route's). */
  readonly response?: HeaderMutationLevel;
}

const rolls = (p: FaultPercentRt, random: () => number): boolean => p.numerator >= p.denominator || (p.numerator > 0 && Math.floor(random() * p.denominator) < p.numerator);

/** The first policy (route, then virtual host) where `pick` is set. */
function first<T>(policies: readonly CorsPolicyRt[], pick: (p: CorsPolicyRt) => T | undefined): T | undefined {
  for (const p of policies) {
    const v = pick(p);
    if (v !== undefined) return v;
  }
  return undefined;
}

const nonEmpty = (s: string): string | undefined => (s === '' ? undefined : s);
const set = (name: string, value: string): HeaderValueOptionRt => ({ name, value, action: 'OVERWRITE_IF_EXISTS_OR_ADD', keepEmptyValue: false });

function originAllowed(policies: readonly CorsPolicyRt[], origin: string): boolean {
  const matchers = first(policies, (p) => (p.allowOrigins.length > 0 ? p.allowOrigins : undefined)) ?? [];
  return matchers.some((m) => matchString(m, '*') || matchString(m, origin));
}

/** What the CORS filter does with this request (undefined: nothing). */
export function corsRequest(stats: CorsStats, vh: VirtualHostRt, route: RouteRt, head: RequestHeaders, random: () => number = Math.random): CorsOutcome | undefined {
  const policies: CorsPolicyRt[] = [];
  if (route.cors !== undefined) policies.push(route.cors);
  if (vh.cors !== undefined) policies.push(vh.cors);
  if (policies.length === 0) return undefined;
  const enabled = rolls(policies[0].filterEnabled, random);
  if (!enabled && !rolls(policies[0].shadowEnabled, random)) return undefined;
  const origin = getHeader(head, 'origin');
  if (origin === undefined || origin === '') return undefined;
  const allowed = originAllowed(policies, origin);
  if (allowed) stats.origin_valid++;
  else stats.origin_invalid++;
  // Shadow mode only judges (and counts) the origin.
  if (!enabled) return undefined;
  const credentials = first(policies, (p) => p.allowCredentials) === true;
  const requestMethod = getHeader(head, 'access-control-request-method');
  if (head.method !== 'OPTIONS' || requestMethod === undefined || requestMethod === '') {
    if (!allowed) return undefined;
    const toAdd = [set('access-control-allow-origin', origin)];
    if (credentials) toAdd.push(set('access-control-allow-credentials', 'true'));
    const expose = first(policies, (p) => nonEmpty(p.exposeHeaders));
    if (expose !== undefined) toAdd.push(set('access-control-expose-headers', expose));
    return { response: { toAdd, toRemove: [] } };
  }
  if (!allowed && (first(policies, (p) => p.forwardNotMatchingPreflights) ?? true)) return undefined;
  const reply: Record<string, string> = {};
  if (allowed) reply['access-control-allow-origin'] = origin;
  if (credentials) reply['access-control-allow-credentials'] = 'true';
  const methods = first(policies, (p) => nonEmpty(p.allowMethods));
  if (methods !== undefined) reply['access-control-allow-methods'] = methods === '*' ? requestMethod : methods;
  const headers = first(policies, (p) => nonEmpty(p.allowHeaders));
  if (headers !== undefined) {
    const v = headers === '*' ? (getHeader(head, 'access-control-request-headers') ?? '') : headers;
    if (v !== '') reply['access-control-allow-headers'] = v;
  }
  const maxAge = first(policies, (p) => nonEmpty(p.maxAge));
  if (maxAge !== undefined) reply['access-control-max-age'] = maxAge;
  return { preflight: reply };
}

/** A local reply's extra headers with the CORS filter's (which win, as its encodeHeaders runs last). */
export function withCorsHeaders(extra: Record<string, string> | undefined, level: HeaderMutationLevel): Record<string, string> {
  const out: Record<string, string> = { ...extra };
  for (const o of level.toAdd) out[o.name] = o.value;
  return out;
}
