/**
 * The analyzers, and one analysis run: every analyzer over all the resources, then only the
 * messages about the namespace asked for (all of them with `-A`), minus the suppressed ones,
 * sorted and deduplicated.
 */
import type { AnalysisMessage } from './analysis-message.js';
import { IGNORED_NAMESPACES, MESH_SYSTEM_NAMESPACE, makeContext, type AnalysisContext } from './analysis-context.js';
import type { AnalyzedResource } from './analyzed-resource.js';
import { analyzeAnnotations } from './annotation-analyzer.js';
import { analyzeCaCertificates } from './ca-certificate-analyzer.js';
import { analyzeConflictingGateways } from './conflicting-gateway-analyzer.js';
import { analyzeDestinationRuleSubsets } from './destination-rule-analyzer.js';
import { isSuppressed, sortMessages, type Suppression } from './format-messages.js';
import { analyzeGateways } from './gateway-analyzers.js';
import { analyzePortNames } from './port-name-analyzer.js';
import { analyzeSidecars } from './sidecar-analyzers.js';
import { analyzeConflictingMeshHosts, analyzeVirtualServiceDestinations, analyzeVirtualServiceGateways } from './virtual-service-analyzers.js';
import { analyzeApplicationUid, analyzeNamespaceInjection, analyzePodProxies } from './workload-analyzers.js';

export interface Analyzer {
  readonly name: string;
  readonly description: string;
  readonly run: (ctx: AnalysisContext) => AnalysisMessage[];
}

export const ANALYZERS: readonly Analyzer[] = [
  { name: 'annotations.K8sAnalyzer', description: 'Checks for misplaced and invalid Istio annotations in Kubernetes resources', run: analyzeAnnotations },
  { name: 'applicationUID.Analyzer', description: 'Checks invalid application UID', run: analyzeApplicationUid },
  { name: 'destinationrule.CaCertificateAnalyzer', description: 'Checks if caCertificates is set when TLS mode is SIMPLE/MUTUAL', run: analyzeCaCertificates },
  { name: 'destinationrule.PodNotSelectedAnalyzer', description: 'Checks that the subsets of each destination rule select pods', run: analyzeDestinationRuleSubsets },
  { name: 'gateway.ConflictingGatewayAnalyzer', description: "Checks a gateway's selector, port number and hosts", run: analyzeConflictingGateways },
  { name: 'gateway.IngressGatewayPortAnalyzer', description: "Checks a gateway's ports against the gateway's Kubernetes service ports", run: analyzeGateways },
  {
    name: 'injection.Analyzer',
    description: 'Checks conditions related to sidecar injection',
    run: (ctx) => [...analyzeNamespaceInjection(ctx), ...analyzePodProxies(ctx)],
  },
  { name: 'schema.ValidationAnalyzer', description: 'Runs schema validation as an analyzer and reports any violations', run: () => [] },
  { name: 'service.PortNameAnalyzer', description: 'Checks the port names associated with each service', run: analyzePortNames },
  { name: 'sidecar.SelectorAnalyzer', description: 'Validates that sidecars that define a workload selector match at least one pod, and that there aren\'t multiple sidecar resources that select overlapping pods', run: analyzeSidecars },
  { name: 'virtualservice.ConflictingMeshGatewayHostsAnalyzer', description: 'Checks if multiple virtual services associated with the mesh gateway have conflicting hosts', run: analyzeConflictingMeshHosts },
  { name: 'virtualservice.DestinationHostAnalyzer', description: 'Checks the destination hosts associated with each virtual service', run: analyzeVirtualServiceDestinations },
  { name: 'virtualservice.GatewayAnalyzer', description: 'Checks the gateways associated with each virtual service', run: analyzeVirtualServiceGateways },
];

/** `-L`: `* name:` then the description indented, sorted by name. */
export function listAnalyzers(): string {
  return [...ANALYZERS]
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((a) => `* ${a.name}:\n    ${a.description}\n`)
    .join('');
}

/**
 * What the mesh installs, added when only files are analyzed so that a Gateway for the ingress
 * gateway finds its pod: a pod labelled `istio: ingressgateway` with its proxy, and its Service
 * with the installed ports (80 -> 8080, 443 -> 8443, 31400, 15443).
 */
export function defaultMeshResources(namespace = MESH_SYSTEM_NAMESPACE): AnalyzedResource[] {
  const labels = { istio: 'ingressgateway' };
  const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'istio-ingressgateway-dummypod', namespace, labels }, spec: { containers: [{ name: 'istio-proxy' }] } };
  const ports = [
    { name: 'http2', port: 80, targetPort: 8080 },
    { name: 'https', port: 443, targetPort: 8443 },
    { name: 'tcp', port: 31400, targetPort: 31400 },
    { name: 'tls', port: 15443, targetPort: 15443 },
  ].map((p) => ({ ...p, protocol: 'TCP' }));
  const svc = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'istio-ingressgateway', namespace }, spec: { selector: labels, ports } };
  return [
    { kind: 'Pod', namespace, name: pod.metadata.name, labels, annotations: {}, obj: pod, origin: { kind: 'Pod', namespace, name: pod.metadata.name } },
    { kind: 'Service', namespace, name: svc.metadata.name, labels: {}, annotations: {}, obj: svc, origin: { kind: 'Service', namespace, name: svc.metadata.name } },
  ];
}

export interface RunAnalysisOptions {
  /** Report only about this namespace; undefined: all namespaces. */
  readonly namespace?: string;
  readonly suppressions?: readonly Suppression[];
  /** Messages found while reading (IST0106). */
  readonly readMessages?: readonly AnalysisMessage[];
}

/** The namespace a message is about: a Namespace's own name for cluster-scoped Namespaces. */
const messageNamespace = (m: AnalysisMessage): string => (m.origin.kind === 'Namespace' ? m.origin.name : m.origin.namespace);

/** A resource's own `galley.istio.io/analyze-suppress: "IST0103,IST0118"` (or `*`) annotation. */
export const SUPPRESS_ANNOTATION = 'galley.istio.io/analyze-suppress';

export function runAnalysis(resources: readonly AnalyzedResource[], opts: RunAnalysisOptions = {}): AnalysisMessage[] {
  const ctx = makeContext(resources.filter((r) => !IGNORED_NAMESPACES.has(r.namespace)));
  const all = [...(opts.readMessages ?? []), ...ANALYZERS.flatMap((a) => a.run(ctx))];
  const key = (o: { kind: string; namespace: string; name: string }): string => `${o.kind}/${o.namespace}/${o.name}`;
  const annotated = new Map(resources.filter((r) => r.annotations[SUPPRESS_ANNOTATION]).map((r) => [key(r), r.annotations[SUPPRESS_ANNOTATION]!.split(',').map((c) => c.trim())]));
  const kept = all.filter((m) => {
    const ns = messageNamespace(m);
    if (IGNORED_NAMESPACES.has(ns)) return false;
    if (opts.namespace !== undefined && ns !== '' && ns !== opts.namespace) return false;
    const codes = annotated.get(key(m.origin));
    if (codes && (codes.includes('*') || codes.includes(m.code))) return false;
    return !isSuppressed(m, opts.suppressions ?? []);
  });
  return sortMessages(kept);
}
