/**
 * The Sidecar resource's analyzers:
 *   IST0101 ReferencedResourceNotFound ("selector"): a Sidecar's workloadSelector matches no pod
 *           of its namespace;
 *   IST0110 ConflictingSidecarWorkloadSelectors: several Sidecars select the same pod (which one
 *           applies is then undefined); each is reported, per pod, naming all of them;
 *   IST0111 MultipleSidecarsWithoutWorkloadSelectors: several Sidecars of one namespace without
 *           a selector; each is reported, naming all of them.
 */
import { conflictingSidecarWorkloadSelectors, multipleSidecarsWithoutWorkloadSelectors, referencedResourceNotFound, type AnalysisMessage } from './analysis-message.js';
import { field, selectorString, selects, spec, stringMap, type AnalysisContext } from './analysis-context.js';
import type { AnalyzedResource } from './analyzed-resource.js';

const selectorOf = (s: AnalyzedResource): Record<string, string> => stringMap(field(spec(s), 'workloadSelector', 'labels'));
const names = (list: readonly AnalyzedResource[]): string[] => list.map((s) => s.name).sort();

export function analyzeSidecars(ctx: AnalysisContext): AnalysisMessage[] {
  const out: AnalysisMessage[] = [];
  const withoutSelector = new Map<string, AnalyzedResource[]>();
  const byPod = new Map<string, { pod: AnalyzedResource; sidecars: AnalyzedResource[] }>();
  for (const s of ctx.of('Sidecar')) {
    const sel = selectorOf(s);
    if (Object.keys(sel).length === 0) {
      withoutSelector.set(s.namespace, [...(withoutSelector.get(s.namespace) ?? []), s]);
      continue;
    }
    const pods = ctx.of('Pod').filter((p) => p.namespace === s.namespace && selects(sel, p.labels));
    if (pods.length === 0) out.push(referencedResourceNotFound(s.origin, 'selector', selectorString(sel)));
    for (const p of pods) {
      const k = `${p.namespace}/${p.name}`;
      const entry = byPod.get(k) ?? { pod: p, sidecars: [] };
      entry.sidecars.push(s);
      byPod.set(k, entry);
    }
  }
  for (const { pod, sidecars } of byPod.values()) {
    if (sidecars.length < 2) continue;
    for (const s of sidecars) out.push(conflictingSidecarWorkloadSelectors(s.origin, names(sidecars), pod.namespace, pod.name));
  }
  for (const [ns, sidecars] of withoutSelector) {
    if (sidecars.length < 2) continue;
    for (const s of sidecars) out.push(multipleSidecarsWithoutWorkloadSelectors(s.origin, names(sidecars), ns));
  }
  return out;
}
