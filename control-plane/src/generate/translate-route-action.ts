/**
 * The parts of an Envoy route that come from one VirtualService HTTPRoute: retries, timeout,
 * header operations, fault and mirror (Istio's pilot/pkg/networking/core/route).
 */
import type { HTTPFaultInjection, HTTPRetry, HeaderOperations, Headers, Percent } from '@minimesh/kube';
import { compact, fractionalPercent, protoDuration, TYPE, type JsonObject } from './envoy-json.js';

/** Istio's default retry_on (pilot route/retry/retry.go, current Istio: 503 no longer in the list). */
export const DEFAULT_RETRY_ON = 'connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes';
export const DEFAULT_RETRY_ATTEMPTS = 2;
const PREVIOUS_HOSTS = { name: 'envoy.retry_host_predicates.previous_hosts', typed_config: { '@type': TYPE.PreviousHostsPredicate } };

const PREVIOUS_PRIORITIES_NAME = 'envoy.retry_priorities.previous_priorities';

export function defaultRetryPolicy(): JsonObject {
  return { retry_on: DEFAULT_RETRY_ON, num_retries: DEFAULT_RETRY_ATTEMPTS, retry_host_predicate: [PREVIOUS_HOSTS], host_selection_retry_max_attempts: '5' };
}

/**
 * `retries` -> retry_policy. `attempts: 0` disables retries (no policy); status codes in
 * `retryOn` become retriable_status_codes with `retriable-status-codes`.
 */
export function translateRetryPolicy(r: HTTPRetry | undefined): JsonObject | undefined {
  if (!r) return defaultRetryPolicy();
  // Istio's ConvertPolicy: `retries` without attempts (an unset proto3 field is 0) turns retries off.
  if (r.attempts === undefined || r.attempts <= 0) return undefined;
  const p = defaultRetryPolicy();
  p.num_retries = r.attempts;
  if (r.retryOn) {
    const on: string[] = [];
    const codes: number[] = [];
    for (const raw of r.retryOn.split(',')) {
      const v = raw.trim();
      if (!v) continue;
      if (/^\d{3}$/.test(v)) codes.push(Number(v));
      else if (!on.includes(v)) on.push(v);
    }
    if (codes.length > 0 && !on.includes('retriable-status-codes')) on.push('retriable-status-codes');
    p.retry_on = on.join(',');
    if (codes.length > 0) p.retriable_status_codes = codes;
  }
  if (r.perTryTimeout) p.per_try_timeout = protoDuration(r.perTryTimeout);
  // Istio's ConvertPolicy: retryIgnorePreviousHosts, when set, decides the previous_hosts predicate.
  if (r.retryIgnorePreviousHosts === false) delete p.retry_host_predicate;
  // Retries go to other priorities (other localities) once two tries have been made.
  if (r.retryRemoteLocalities === true) p.retry_priority = { name: PREVIOUS_PRIORITIES_NAME, typed_config: { '@type': TYPE.PreviousPrioritiesConfig, update_frequency: 2 } };
  if (r.backoff) p.retry_back_off = { base_interval: protoDuration(r.backoff) };
  return p;
}

const headerValue = (key: string, value: string, action: string): JsonObject => ({ header: { key: key.toLowerCase(), value }, append_action: action });

function translateHeaderOps(ops: HeaderOperations | undefined): { add: JsonObject[]; remove: string[] } {
  const add: JsonObject[] = [];
  for (const [k, v] of Object.entries(ops?.set ?? {})) add.push(headerValue(k, v, 'OVERWRITE_IF_EXISTS_OR_ADD'));
  for (const [k, v] of Object.entries(ops?.add ?? {})) add.push(headerValue(k, v, 'APPEND_IF_EXISTS_OR_ADD'));
  return { add, remove: (ops?.remove ?? []).map((h) => h.toLowerCase()) };
}

/** Applies `headers` (request/response set/add/remove) to a route or weighted cluster being built. */
export function applyHeaders(target: JsonObject, h: Headers | undefined): void {
  if (!h) return;
  const req = translateHeaderOps(h.request);
  const res = translateHeaderOps(h.response);
  const push = (field: string, items: (JsonObject | string)[]): void => {
    if (items.length === 0) return;
    target[field] = [...((target[field] as (JsonObject | string)[] | undefined) ?? []), ...items];
  };
  push('request_headers_to_add', req.add);
  push('request_headers_to_remove', req.remove);
  push('response_headers_to_add', res.add);
  push('response_headers_to_remove', res.remove);
}

/** Istio: an unset percentage means 100 %; the deprecated integer `percent` still counts. */
function percentOf(p: Percent | undefined, legacy?: number): JsonObject {
  return fractionalPercent(p?.value ?? legacy ?? 100);
}

/** `fault` -> the fault filter's per-route config (`typed_per_filter_config`), as Istio writes it. */
export function translateFault(f: HTTPFaultInjection): JsonObject {
  return compact({
    '@type': TYPE.HttpFault,
    delay: f.delay ? { fixed_delay: protoDuration(f.delay.fixedDelay ?? '0s'), percentage: percentOf(f.delay.percentage, f.delay.percent) } : undefined,
    abort: f.abort
      ? compact({
          http_status: f.abort.httpStatus,
          grpc_status: f.abort.grpcStatus !== undefined ? grpcStatusCode(f.abort.grpcStatus) : undefined,
          percentage: percentOf(f.abort.percentage),
        })
      : undefined,
  });
}

const GRPC_CODES = ['OK', 'CANCELLED', 'UNKNOWN', 'INVALID_ARGUMENT', 'DEADLINE_EXCEEDED', 'NOT_FOUND', 'ALREADY_EXISTS', 'PERMISSION_DENIED', 'RESOURCE_EXHAUSTED', 'FAILED_PRECONDITION', 'ABORTED', 'OUT_OF_RANGE', 'UNIMPLEMENTED', 'INTERNAL', 'UNAVAILABLE', 'DATA_LOSS', 'UNAUTHENTICATED'];
function grpcStatusCode(s: string): number {
  const i = GRPC_CODES.indexOf(s.toUpperCase());
  return i >= 0 ? i : Number(s) || 2;
}

/** One `mirror` (+ `mirrorPercentage`) or `mirrors[]` entry -> a RequestMirrorPolicy (unset percentage: 100 %). */
export function translateMirror(cluster: string, pct: Percent | undefined): JsonObject {
  return { cluster, runtime_fraction: { default_value: percentOf(pct) } };
}

export function translateTimeout(t: string | undefined): string {
  // Istio disables Envoy's 15 s default: 0 unless the VirtualService sets `timeout`.
  return t ? protoDuration(t) : '0s';
}
