/**
 * A route retry policy's extensions: `retry_host_predicate` (Envoy's previous_hosts: a retry
 * avoids the hosts already tried) and `retry_priority` (Envoy's previous_priorities: after
 * every `update_frequency` tries, the priority levels already tried lose their load).
 */
import { TYPE_URL, unpackAny, type AnyLike, type PreviousPrioritiesConfig, type RetryPolicy } from '@minimesh/api';
import { allowOnly, join, type Errors } from './errors.js';
import type { RetryPriorityRt } from './retry-runtime.js';

export const PREVIOUS_HOSTS = 'envoy.retry_host_predicates.previous_hosts';
export const PREVIOUS_PRIORITIES = 'envoy.retry_priorities.previous_priorities';

/** True when the predicates name previous_hosts; any other predicate is an error. */
export function compileRetryHostPredicates(rp: RetryPolicy, path: string, errors: Errors): boolean {
  let avoid = false;
  (rp.retry_host_predicate ?? []).forEach((pr, i) => {
    const pp = `${join(path, 'retry_host_predicate')}[${i}]`;
    allowOnly(pr, pp, ['name', 'typed_config'], errors, ['config_type']);
    const typeUrl = pr.typed_config?.type_url ?? '';
    if (pr.name === PREVIOUS_HOSTS || typeUrl.endsWith('envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate')) avoid = true;
    else errors.add(join(pp, 'name'), `retry host predicate ${JSON.stringify(pr.name)} not supported by minimesh (only ${PREVIOUS_HOSTS})`);
  });
  return avoid;
}

/** `retry_priority` -> its run-time form; undefined when unset (or in error). */
export function compileRetryPriority(rp: RetryPolicy, path: string, errors: Errors): RetryPriorityRt | undefined {
  const pr = rp.retry_priority;
  if (pr === undefined || pr === null) return undefined;
  const pp = join(path, 'retry_priority');
  allowOnly(pr, pp, ['name', 'typed_config'], errors, ['config_type']);
  const any = pr.typed_config;
  const typeUrl = any?.type_url ?? '';
  if (pr.name !== PREVIOUS_PRIORITIES && typeUrl !== TYPE_URL.PreviousPrioritiesConfig) {
    errors.add(join(pp, 'name'), `retry priority ${JSON.stringify(pr.name)} not supported by minimesh (only ${PREVIOUS_PRIORITIES})`);
    return undefined;
  }
  if (any === undefined || any === null || typeUrl !== TYPE_URL.PreviousPrioritiesConfig) {
    errors.add(join(pp, 'typed_config'), `${PREVIOUS_PRIORITIES} needs a typed_config of type ${TYPE_URL.PreviousPrioritiesConfig}`);
    return undefined;
  }
  const c = unpackAny<PreviousPrioritiesConfig>(any as AnyLike);
  const cp = join(pp, 'typed_config');
  allowOnly(c, cp, ['update_frequency'], errors);
  const f = c.update_frequency ?? 0;
  if (!Number.isInteger(f) || f <= 0) {
    errors.add(join(cp, 'update_frequency'), `must be greater than 0, not ${f}`);
    return undefined;
  }
  return { kind: 'previous_priorities', updateFrequency: f };
}
