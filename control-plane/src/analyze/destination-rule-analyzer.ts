/**
 * IST0173 DestinationRuleSubsetNotSelectPods: a subset of a DestinationRule for a Kubernetes
 * Service whose labels, with the Service's selector, match no pod of the Service's namespace
 * (requests to it would fail with 503 UH). In a namespace without pods (files read alone), the
 * pod templates of Deployments, StatefulSets, DaemonSets and ReplicaSets stand for them.
 */
import { destinationRuleSubsetNotSelectPods, type AnalysisMessage } from './analysis-message.js';
import { findServiceHost, podLabels, type PodLabels, records, selects, serviceHosts, spec, str, stringMap, type AnalysisContext } from './analysis-context.js';

export function analyzeDestinationRuleSubsets(ctx: AnalysisContext): AnalysisMessage[] {
  const hosts = serviceHosts(ctx);
  const pods = podLabels(ctx, false);
  const templates = podLabels(ctx, true).slice(pods.length);
  const podsIn = (ns: string): PodLabels[] => {
    const running = pods.filter((p) => p.namespace === ns);
    return running.length > 0 ? running : templates.filter((p) => p.namespace === ns);
  };
  const out: AnalysisMessage[] = [];
  for (const dr of ctx.of('DestinationRule')) {
    const host = str(spec(dr).host);
    const svc = host ? findServiceHost(hosts, host, dr.namespace) : undefined;
    if (!svc?.selector || Object.keys(svc.selector).length === 0) continue;
    for (const subset of records(spec(dr).subsets)) {
      const labels = stringMap(subset.labels);
      const selector = { ...svc.selector, ...labels };
      if (!podsIn(svc.namespace).some((p) => selects(selector, p.labels))) out.push(destinationRuleSubsetNotSelectPods(dr.origin, str(subset.name) ?? ''));
    }
  }
  return out;
}
