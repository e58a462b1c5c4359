/**
 * DestinationRule `loadBalancer.warmup` / `warmupDurationSecs` -> Envoy's `slow_start_config` on
 * `round_robin_lb_config` or `least_request_lb_config`, as Istio writes it (`warmup` wins; its
 * aggression defaults to 1 and its floor to 10 %, with Istio's fixed runtime key).
 */
import type { LoadBalancerSettings } from '@minimesh/kube';
import { protoDuration, type JsonObject } from './envoy-json.js';

export function slowStartConfigOf(lb: LoadBalancerSettings | undefined): JsonObject | undefined {
  if (lb?.warmup?.duration) {
    return {
      slow_start_window: protoDuration(lb.warmup.duration),
      aggression: { default_value: lb.warmup.aggression ?? 1, runtime_key: '(' },
      min_weight_percent: { value: lb.warmup.minimumPercent ?? 10 },
    };
  }
  if (lb?.warmupDurationSecs) return { slow_start_window: protoDuration(lb.warmupDurationSecs) };
  return undefined;
}

/** Sets the slow start on a cluster whose lb_policy takes it (ROUND_ROBIN, LEAST_REQUEST). */
export function applyWarmup(cluster: JsonObject, lb: LoadBalancerSettings | undefined): void {
  const ss = slowStartConfigOf(lb);
  if (ss === undefined || lb?.consistentHash) return;
  if (cluster.lb_policy === 'ROUND_ROBIN') cluster.round_robin_lb_config = { slow_start_config: ss };
  else if (cluster.lb_policy === 'LEAST_REQUEST') cluster.least_request_lb_config = { slow_start_config: ss };
}
