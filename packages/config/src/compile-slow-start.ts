/** Cluster `round_robin_lb_config` / `least_request_lb_config` -> SlowStartRt (Envoy's slow start). */
import type { Cluster } from '@minimesh/api';
import { allowOnly, join, type Errors } from './errors.js';
import { durationMs, wrapped } from './duration.js';
import type { SlowStartRt } from './slow-start-runtime.js';
import type { ConfigError, LbPolicy } from './runtime.js';

type SlowStartConfig = NonNullable<NonNullable<Cluster['round_robin_lb_config']>['slow_start_config']>;

export function compileSlowStart(c: Cluster, lbPolicy: LbPolicy, path: string, errors: Errors, warnings: ConfigError[]): { slowStart?: SlowStartRt } {
  const rr = c.round_robin_lb_config;
  const lr = c.least_request_lb_config;
  if (rr) {
    allowOnly(rr, join(path, 'round_robin_lb_config'), ['slow_start_config'], errors, [], { locality_lb_config: 'locality_lb_config is not supported by minimesh' });
    if (lbPolicy !== 'ROUND_ROBIN') warnings.push({ path: join(path, 'round_robin_lb_config'), message: `ignored: lb_policy is ${lbPolicy}` });
    else if (rr.slow_start_config) return compileConfig(rr.slow_start_config, join(path, 'round_robin_lb_config.slow_start_config'), errors);
  }
  if (lr) {
    const p = join(path, 'least_request_lb_config');
    allowOnly(lr, p, ['choice_count', 'slow_start_config', 'active_request_bias'], errors, [], { locality_lb_config: 'locality_lb_config is not supported by minimesh' });
    // minimesh's LEAST_REQUEST is the power of two choices with Envoy's default bias.
    if (wrapped(lr.choice_count, 2) !== 2) errors.add(join(p, 'choice_count'), 'only 2 (power of two choices) is supported by minimesh');
    if (lr.active_request_bias && (lr.active_request_bias.default_value ?? 1) !== 1) errors.add(join(p, 'active_request_bias'), 'only the default bias 1.0 is supported by minimesh');
    if (lbPolicy !== 'LEAST_REQUEST') warnings.push({ path: p, message: `ignored: lb_policy is ${lbPolicy}` });
    else if (lr.slow_start_config) return compileConfig(lr.slow_start_config, join(p, 'slow_start_config'), errors);
  }
  return {};
}

function compileConfig(s: SlowStartConfig, path: string, errors: Errors): { slowStart?: SlowStartRt } {
  allowOnly(s, path, ['slow_start_window', 'aggression', 'min_weight_percent'], errors);
  const windowMs = durationMs(s.slow_start_window, 0, join(path, 'slow_start_window'), errors);
  if (s.aggression) allowOnly(s.aggression, join(path, 'aggression'), ['default_value', 'runtime_key'], errors);
  const aggression = s.aggression?.default_value ?? 1;
  if (!(aggression > 0)) errors.add(join(path, 'aggression.default_value'), `must be greater than 0, not ${aggression}`);
  const minWeightPercent = s.min_weight_percent?.value ?? 10;
  if (minWeightPercent < 0 || minWeightPercent > 100) errors.add(join(path, 'min_weight_percent.value'), `must be 0..100, not ${minWeightPercent}`);
  // Without a window there is no slow start (Envoy's behaviour).
  return windowMs > 0 ? { slowStart: { windowMs, aggression, minWeightPercent } } : {};
}
