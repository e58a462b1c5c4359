/** Envoy's route RetryPolicy -> RetryPolicyRt. */
import type { RetryPolicy } from '@minimesh/api';
import { ENVOY_RETRY_ON } from '@minimesh/mesh';
import { durationMs, wrapped } from './duration.js';
import { allowOnly, join, type Errors } from './errors.js';
import type { RetryOn, RetryPolicyRt } from './runtime.js';

/** Every value Envoy accepts in `retry_on` (HTTP and gRPC conditions). */
export const RETRY_ON_VALUES: ReadonlySet<string> = new Set(ENVOY_RETRY_ON);

export const PREVIOUS_HOSTS = 'envoy.retry_host_predicates.previous_hosts';

export function compileRetryPolicy(rp: RetryPolicy, path: string, errors: Errors): RetryPolicyRt {
  allowOnly(
    rp,
    path,
    ['retry_on', 'num_retries', 'per_try_timeout', 'retriable_status_codes', 'retry_back_off', 'retry_host_predicate', 'host_selection_retry_max_attempts'],
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
  let avoidPreviousHosts = false;
  (rp.retry_host_predicate ?? []).forEach((pr, i) => {
    const pp = `${join(path, 'retry_host_predicate')}[${i}]`;
    allowOnly(pr, pp, ['name', 'typed_config'], errors, ['config_type']);
    const typeUrl = pr.typed_config?.type_url ?? '';
    if (pr.name === PREVIOUS_HOSTS || typeUrl.endsWith('envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate')) {
      avoidPreviousHosts = true;
    } else {
      errors.add(join(pp, 'name'), `retry host predicate ${JSON.stringify(pr.name)} not supported by minimesh (only ${PREVIOUS_HOSTS})`);
    }
  });
  return {
    retryOn,
    numRetries: wrapped(rp.num_retries, 1),
    perTryTimeoutMs: durationMs(rp.per_try_timeout, 0, join(path, 'per_try_timeout'), errors),
    retriableStatusCodes: codes,
    baseIntervalMs,
    maxIntervalMs,
    avoidPreviousHosts,
    hostSelectionRetryMaxAttempts: Number(rp.host_selection_retry_max_attempts ?? 1) || 1,
  };
}
