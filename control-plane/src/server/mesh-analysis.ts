/**
 * The analyzers of `minimesh analyze`, run by the control plane over what its source holds
 * (and, in local mode, the pods its proxies stand for), every namespace, on every change.
 * Each message is one line as `minimesh analyze` prints it, without a file reference:
 *   Warning [IST0128] (DestinationRule shop/db) DestinationRule shop/db in namespace shop has ...
 * Schema errors (IST0106) are not here: the source reports those as it reads.
 */
import { analyzeObject, type AnalyzedResource } from '../analyze/analyzed-resource.js';
import { logLine } from '../analyze/format-messages.js';
import { runAnalysis } from '../analyze/run-analysis.js';

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A pod that stands for a connected sidecar (local mode) has its proxy, whatever its Deployment lists. */
function withProxyContainer(pod: unknown): unknown {
  if (!isRecord(pod)) return pod;
  const spec = isRecord(pod.spec) ? pod.spec : {};
  const containers = Array.isArray(spec.containers) ? spec.containers : [];
  return { ...pod, spec: { ...spec, containers: [...containers, { name: 'istio-proxy' }] } };
}

/**
 * Kubernetes objects (and the pods of connected sidecars) -> the analysis lines about them,
 * sorted as `minimesh analyze` sorts them.
 */
export function meshAnalysisLines(objects: readonly unknown[], sidecarPods: readonly unknown[] = []): string[] {
  const resources: AnalyzedResource[] = [];
  for (const o of [...objects, ...sidecarPods.map(withProxyContainer)]) {
    const r = analyzeObject(o, 'default').resource;
    if (r) resources.push(r);
  }
  try {
    return runAnalysis(resources).map((m) => logLine(m));
  } catch (e) {
    return [`Error (analysis) the analyzers failed: ${(e as Error).message}`];
  }
}
