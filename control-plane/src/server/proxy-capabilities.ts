/**
 * What minimesh's proxy runs today, applied to generated config before it is pushed.
 *
 * Translation stays faithful to Istio (the goldens show outlier detection in Envoy's shape),
 * but the proxy rejects that field until outlier detection lands: pushing it would make every
 * affected proxy NACK and freeze on its last config. So the push path takes it out, and says so
 * once per cluster: the cluster is served without outlier detection. (Fault injection and
 * mirroring are run by the proxy and pushed as translated.)
 */
import type { ProxyResources } from '../generate/generate-for-proxy.js';

/** The resources as minimesh's proxy accepts them, and what was left out (one line per cause). */
export function adaptToProxy(res: ProxyResources): { resources: ProxyResources; notes: string[] } {
  const notes = new Set<string>();
  const clusters = res.clusters.map((c) => {
    if (c.outlier_detection === undefined) return c;
    const { outlier_detection: _od, ...rest } = c;
    notes.add(`Warning (cluster ${String(c.name)}) outlier detection (DestinationRule trafficPolicy.outlierDetection) is not supported by minimesh's proxy yet: the cluster is served without it`);
    return rest;
  });
  return { resources: { ...res, clusters }, notes: [...notes] };
}
