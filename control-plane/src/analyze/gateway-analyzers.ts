/**
 * Gateway checks:
 *   IST0101 ReferencedResourceNotFound ("selector"): no pod carries the Gateway's selector labels;
 *   IST0101 ReferencedResourceNotFound ("credentialName"): a server's `tls.credentialName` names no
 *   Secret in the namespace of the gateway pods (where the gateway reads it);
 *   IST0162 GatewayPortNotDefinedOnService: a server port that no Service selecting those pods
 *   exposes, neither as its port nor as its targetPort.
 */
import { gatewayPortNotDefinedOnService, referencedResourceNotFound, type AnalysisMessage } from './analysis-message.js';
import { field, records, selectorString, selects, spec, stringMap, type AnalysisContext } from './analysis-context.js';

export function analyzeGateways(ctx: AnalysisContext): AnalysisMessage[] {
  const out: AnalysisMessage[] = [];
  for (const gw of ctx.of('Gateway')) {
    const selector = stringMap(spec(gw).selector);
    const sel = selectorString(selector);
    const pods = ctx.of('Pod').filter((p) => selects(selector, p.labels));
    if (pods.length === 0) {
      out.push(referencedResourceNotFound(gw.origin, 'selector', sel));
      continue;
    }
    const podNamespaces = [...new Set(pods.map((p) => p.namespace))];
    for (const server of records(spec(gw).servers)) {
      const cn = field(server, 'tls', 'credentialName');
      if (typeof cn === 'string' && cn !== '' && podNamespaces.some((ns) => ctx.find('Secret', ns, cn) === undefined)) out.push(referencedResourceNotFound(gw.origin, 'credentialName', cn));
    }
    const ports = new Set<number>();
    for (const pod of pods) {
      for (const svc of ctx.of('Service')) {
        const svcSelector = stringMap(spec(svc).selector);
        if (svc.namespace !== pod.namespace || Object.keys(svcSelector).length === 0 || !selects(svcSelector, pod.labels)) continue;
        for (const p of records(spec(svc).ports)) {
          if (p.protocol !== undefined && p.protocol !== 'TCP') continue;
          if (typeof p.port === 'number') ports.add(p.port);
          if (typeof p.targetPort === 'number') ports.add(p.targetPort);
        }
      }
    }
    for (const server of records(spec(gw).servers)) {
      const n = field(server, 'port', 'number');
      if (typeof n === 'number' && !ports.has(n)) out.push(gatewayPortNotDefinedOnService(gw.origin, n, sel));
    }
  }
  return out;
}
