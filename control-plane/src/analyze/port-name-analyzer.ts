/**
 * IST0118 PortNameIsNotUnderNamingConvention: a Service port whose protocol cannot be told from
 * its `appProtocol` or its name (`http`, `http-web`, `grpc`, `tcp-db`, ...), so the mesh has to
 * sniff it. UDP ports and the well-known TCP ports (SMTP, DNS, MySQL, MongoDB) are exempt, as are
 * the mesh's own Services (labelled `istio` or `release=istio`).
 */
import { selectPortProtocol } from '@minimesh/kube';
import { portNameIsNotUnderNamingConvention, type AnalysisMessage } from './analysis-message.js';
import { IGNORED_NAMESPACES, isMeshControlPlane, records, spec, str, type AnalysisContext } from './analysis-context.js';

const WELL_KNOWN_TCP_PORTS: ReadonlySet<number> = new Set([25, 53, 3306, 27017]);

export function followsNamingConvention(p: { name?: string; port?: number; protocol?: string; appProtocol?: string }): boolean {
  if (selectPortProtocol(p as { name?: string; protocol?: string; appProtocol?: string }) !== 'Unsupported') return true;
  return p.port !== undefined && WELL_KNOWN_TCP_PORTS.has(p.port);
}

export function analyzePortNames(ctx: AnalysisContext): AnalysisMessage[] {
  const out: AnalysisMessage[] = [];
  for (const svc of ctx.of('Service')) {
    if (IGNORED_NAMESPACES.has(svc.namespace) || isMeshControlPlane(svc)) continue;
    for (const p of records(spec(svc).ports)) {
      const port = typeof p.port === 'number' ? p.port : 0;
      const info = { name: str(p.name), port, protocol: str(p.protocol), appProtocol: str(p.appProtocol) };
      if (followsNamingConvention(info)) continue;
      // An unset targetPort prints as 0, as Kubernetes' IntOrString zero value does (the API server
      // defaults it to the port, so Services read from a cluster show that).
      const target = typeof p.targetPort === 'number' || typeof p.targetPort === 'string' ? String(p.targetPort) : '0';
      out.push(portNameIsNotUnderNamingConvention(svc.origin, info.name ?? '', port, target));
    }
  }
  return out;
}
