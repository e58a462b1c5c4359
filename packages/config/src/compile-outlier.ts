/** Cluster `outlier_detection` and `common_lb_config` -> OutlierDetectionRt, the panic threshold and locality-weighted balancing. */
import type { Cluster } from '@minimesh/api';
import { allowOnly, join, type Errors } from './errors.js';
import { durationMs, wrapped } from './duration.js';
import type { OutlierDetectionRt } from './outlier-runtime.js';
import type { ConfigError } from './runtime.js';

/** Envoy's default `healthy_panic_threshold`. */
export const DEFAULT_PANIC_THRESHOLD = 50;

export function compileOutlierDetection(c: Cluster, path: string, errors: Errors, warnings: ConfigError[]): { outlierDetection?: OutlierDetectionRt; healthyPanicThreshold: number; localityWeighted?: boolean } {
  const { healthyPanicThreshold, localityWeighted } = compileCommonLbConfig(c.common_lb_config, join(path, 'common_lb_config'), errors);
  const lw = localityWeighted ? { localityWeighted } : {};
  const od = c.outlier_detection;
  if (!od) return { healthyPanicThreshold, ...lw };
  const p = join(path, 'outlier_detection');
  allowOnly(
    od,
    p,
    ['consecutive_5xx', 'interval', 'base_ejection_time', 'max_ejection_percent', 'enforcing_consecutive_5xx', 'consecutive_gateway_failure', 'enforcing_consecutive_gateway_failure', 'split_external_local_origin_errors', 'consecutive_local_origin_failure', 'enforcing_consecutive_local_origin_failure', 'max_ejection_time', 'always_eject_one_host',
      // Success-rate and failure-percentage ejection: accepted only when off (Istio turns them off).
      'enforcing_success_rate', 'enforcing_local_origin_success_rate', 'success_rate_minimum_hosts', 'success_rate_request_volume', 'success_rate_stdev_factor', 'enforcing_failure_percentage', 'enforcing_failure_percentage_local_origin', 'failure_percentage_threshold', 'failure_percentage_minimum_hosts', 'failure_percentage_request_volume'],
    errors,
    [],
    { monitors: 'monitors are not supported by minimesh', max_ejection_time_jitter: 'max_ejection_time_jitter is not supported by minimesh yet' },
  );
  // Envoy enforces success-rate ejection at 100 % by default, though it needs 5 hosts with 100
  // requests each per interval; minimesh runs the consecutive-error detectors only, and says so
  // unless it is off (as Istio turns it off).
  if (wrapped(od.enforcing_success_rate, 100) !== 0) warnings.push({ path: join(p, 'enforcing_success_rate'), message: 'success-rate ejection is not run by minimesh (the consecutive-error detectors are); set enforcing_success_rate to 0, as Istio does' });
  if (wrapped(od.enforcing_failure_percentage, 0) !== 0) errors.add(join(p, 'enforcing_failure_percentage'), 'failure-percentage ejection is not supported by minimesh');
  if (wrapped(od.enforcing_failure_percentage_local_origin, 0) !== 0) errors.add(join(p, 'enforcing_failure_percentage_local_origin'), 'failure-percentage ejection is not supported by minimesh');
  const pct = (v: { value?: number } | null | undefined, def: number, key: string): number => {
    const n = wrapped(v, def);
    if (n > 100) errors.add(join(p, key), `must be at most 100, not ${n}`);
    return Math.min(n, 100);
  };
  const baseEjectionTimeMs = durationMs(od.base_ejection_time, 30_000, join(p, 'base_ejection_time'), errors);
  const intervalMs = durationMs(od.interval, 10_000, join(p, 'interval'), errors);
  if (intervalMs <= 0) errors.add(join(p, 'interval'), 'must be greater than 0');
  const maxEjectionTimeMs = durationMs(od.max_ejection_time, 300_000, join(p, 'max_ejection_time'), errors);
  if (maxEjectionTimeMs < baseEjectionTimeMs) errors.add(join(p, 'max_ejection_time'), 'must not be less than base_ejection_time');
  return {
    healthyPanicThreshold,
    ...lw,
    outlierDetection: {
      consecutive5xx: wrapped(od.consecutive_5xx, 5),
      enforcing5xx: pct(od.enforcing_consecutive_5xx, 100, 'enforcing_consecutive_5xx'),
      consecutiveGatewayFailure: wrapped(od.consecutive_gateway_failure, 5),
      enforcingGatewayFailure: pct(od.enforcing_consecutive_gateway_failure, 0, 'enforcing_consecutive_gateway_failure'),
      splitLocalOrigin: od.split_external_local_origin_errors === true,
      consecutiveLocalOriginFailure: wrapped(od.consecutive_local_origin_failure, 5),
      enforcingLocalOriginFailure: pct(od.enforcing_consecutive_local_origin_failure, 100, 'enforcing_consecutive_local_origin_failure'),
      intervalMs: Math.max(intervalMs, 1),
      baseEjectionTimeMs,
      maxEjectionTimeMs,
      maxEjectionPercent: pct(od.max_ejection_percent, 10, 'max_ejection_percent'),
      alwaysEjectOneHost: od.always_eject_one_host?.value === true,
    },
  };
}

function compileCommonLbConfig(c: Cluster['common_lb_config'] | null | undefined, path: string, errors: Errors): { healthyPanicThreshold: number; localityWeighted: boolean } {
  if (!c) return { healthyPanicThreshold: DEFAULT_PANIC_THRESHOLD, localityWeighted: false };
  allowOnly(c, path, ['healthy_panic_threshold', 'locality_weighted_lb_config'], errors, ['locality_config_specifier'], {
    zone_aware_lb_config: 'zone-aware balancing is not supported by minimesh yet',
  });
  // locality_weighted_lb_config is an empty message: its presence turns the feature on.
  const localityWeighted = c.locality_weighted_lb_config !== undefined && c.locality_weighted_lb_config !== null;
  const t = c.healthy_panic_threshold;
  if (!t) return { healthyPanicThreshold: DEFAULT_PANIC_THRESHOLD, localityWeighted };
  const v = t.value ?? 0;
  if (v < 0 || v > 100) errors.add(join(path, 'healthy_panic_threshold.value'), `must be 0..100, not ${v}`);
  return { healthyPanicThreshold: Math.min(Math.max(v, 0), 100), localityWeighted };
}
