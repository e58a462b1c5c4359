/** Envoy's route RetryPolicy -> RetryPolicyRt. */
import type { RetryPolicy } from '@minimesh/api';
import { ENVOY_RETRY_ON } from '@minimesh/mesh';
import { durationMs, wrapped } from './duration.js';
import { allowOnly, join, type Errors } from './errors.js';
import type { RetryOn, RetryPolicyRt } from './runtime.js';
import { compileRetryHostPredicates, compileRetryPriority } from './compile-retry-predicates.js';

/** Every value Envoy accepts in `retry_on` (HTTP and gRPC conditions). */
export const RETRY_ON_VALUES: ReadonlySet<string> = new Set(ENVOY_RETRY_ON);

export { PREVIOUS_HOSTS, PREVIOUS_PRIORITIES } from './compile-retry-predicates.js';

export function compileRetryPolicy(rp: RetryPolicy, path: string, errors: Errors): RetryPolicyRt {
  allowOnly(
    rp,
    path,
    ['retry_on', 'num_retries', 'per_try_timeout', 'retriable_status_codes', 'retry_back_off', 'retry_host_predicate', 'host_selection_retry_max_attempts', 'retry_priority'],
    errors,
  );
  const retryOn = new Set<RetryOn>();
  for (const raw of (rp.retry_on ?? '').split(',')) {
    const v = raw.trim();
    if (!v) continue;
    if (RETRY_ON_VALUES.has(v)) retryOn.add(v as RetryOn);
    else errors.add(join(path, 'retry_on'), `unknown retry condition ${JSON.stringify(v)} (known: ${[...RETRY_ON_VALUES].join(', ')})`);
  }
  const codes = new Set<number>();
  (rp.retriable_status_codes ?? []).forEach((c, i) => {
    if (!Number.isInteger(c) || c < 100 || c > 599) errors.add(`${join(path, 'retriable_status_codes')}[${i}]`, `invalid HTTP status ${c}`);
    else codes.add(c);
  });
  let baseIntervalMs = 25;
  let maxIntervalMs = 250;
  if (rp.retry_back_off) {
    const bp = join(path, 'retry_back_off');
    allowOnly(rp.retry_back_off, bp, ['base_interval', 'max_interval'], errors);
    baseIntervalMs = durationMs(rp.retry_back_off.base_interval, 25, join(bp, 'base_interval'), errors);
    if (rp.retry_back_off.base_interval && baseIntervalMs <= 0) errors.add(join(bp, 'base_interval'), 'must be greater than 0');
    maxIntervalMs = durationMs(rp.retry_back_off.max_interval, baseIntervalMs * 10, join(bp, 'max_interval'), errors);
    if (maxIntervalMs < baseIntervalMs) errors.add(join(bp, 'max_interval'), 'must not be less than base_interval');
  }
  const priority = compileRetryPriority(rp, path, errors);
  return {
    retryOn,
    numRetries: wrapped(rp.num_retries, 1),
    perTryTimeoutMs: durationMs(rp.per_try_timeout, 0, join(path, 'per_try_timeout'), errors),
    retriableStatusCodes: codes,
    baseIntervalMs,
    maxIntervalMs,
    avoidPreviousHosts: compileRetryHostPredicates(rp, path, errors),
    hostSelectionRetryMaxAttempts: Number(rp.host_selection_retry_max_attempts ?? 1) || 1,
    ...(priority !== undefined ? { retryPriority: priority } : {}),
  };
}
