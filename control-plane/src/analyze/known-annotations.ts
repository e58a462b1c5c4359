/**
 * The annotations of the mesh's annotation domains (`*.istio.io`, plus `kubernetes.io/ingress.class`)
 * that Istio defines, by name: what `minimesh analyze` accepts without IST0108. Compiled from
 * Istio's published annotation reference (istio/api `annotation/annotations.yaml`, the releases
 * up to 1.24, deprecated and hidden ones included, since they are still known there). Names
 * only; which resource an annotation belongs on is not checked (that is IST0107).
 */
export const KNOWN_ANNOTATIONS: ReadonlySet<string> = new Set([
  // ambient mode
  'ambient.istio.io/bypass-inbound-capture',
  'ambient.istio.io/redirection',
  // older VM and identity annotations
  'alpha.istio.io/canonical-serviceaccounts',
  'alpha.istio.io/identity',
  'alpha.istio.io/kubernetes-serviceaccounts',
  // analysis
  'galley.istio.io/analyze-suppress',
  // Gateway API deployments
  'gateway.istio.io/controller-version',
  // injection
  'inject.istio.io/templates',
  // installation
  'install.operator.istio.io/chart-owner',
  'install.operator.istio.io/owner-generation',
  'install.operator.istio.io/version',
  // policies and workload entries
  'istio.io/autoRegistrationGroup',
  'istio.io/connectedAt',
  'istio.io/disconnectedAt',
  'istio.io/dry-run',
  'istio.io/rev',
  'istio.io/workloadController',
  // Ingress
  'kubernetes.io/ingress.class',
  // networking
  'networking.istio.io/address-type',
  'networking.istio.io/exportTo',
  'networking.istio.io/service-type',
  'networking.istio.io/traffic-distribution',
  // metrics
  'prometheus.istio.io/merge-metrics',
  // proxy configuration
  'proxy.istio.io/config',
  'proxy.istio.io/overrides',
  // readiness of the sidecar
  'readiness.status.sidecar.istio.io/applicationPorts',
  'readiness.status.sidecar.istio.io/failureThreshold',
  'readiness.status.sidecar.istio.io/initialDelaySeconds',
  'readiness.status.sidecar.istio.io/periodSeconds',
  // security
  'security.istio.io/autoMTLS',
  // the sidecar
  'sidecar.istio.io/agentLogLevel',
  'sidecar.istio.io/bootstrapOverride',
  'sidecar.istio.io/componentLogLevel',
  'sidecar.istio.io/controlPlaneAuthPolicy',
  'sidecar.istio.io/discoveryAddress',
  'sidecar.istio.io/enableCoreDump',
  'sidecar.istio.io/extraStatTags',
  'sidecar.istio.io/inject',
  'sidecar.istio.io/interceptionMode',
  'sidecar.istio.io/logLevel',
  'sidecar.istio.io/nativeSidecar',
  'sidecar.istio.io/proxyCPU',
  'sidecar.istio.io/proxyCPULimit',
  'sidecar.istio.io/proxyImage',
  'sidecar.istio.io/proxyImageType',
  'sidecar.istio.io/proxyMemory',
  'sidecar.istio.io/proxyMemoryLimit',
  'sidecar.istio.io/rewriteAppHTTPProbers',
  'sidecar.istio.io/statsHistogramBuckets',
  'sidecar.istio.io/statsInclusionPrefixes',
  'sidecar.istio.io/statsInclusionRegexps',
  'sidecar.istio.io/statsInclusionSuffixes',
  'sidecar.istio.io/status',
  'sidecar.istio.io/userVolume',
  'sidecar.istio.io/userVolumeMount',
  'status.sidecar.istio.io/port',
  // multi-cluster
  'topology.istio.io/controlPlaneClusters',
  // traffic capture
  'traffic.istio.io/nodeSelector',
  'traffic.sidecar.istio.io/excludeInboundPorts',
  'traffic.sidecar.istio.io/excludeInterfaces',
  'traffic.sidecar.istio.io/excludeOutboundIPRanges',
  'traffic.sidecar.istio.io/excludeOutboundPorts',
  'traffic.sidecar.istio.io/includeInboundPorts',
  'traffic.sidecar.istio.io/includeOutboundIPRanges',
  'traffic.sidecar.istio.io/includeOutboundPorts',
  'traffic.sidecar.istio.io/kubevirtInterfaces',
]);

/** Is the annotation in the mesh's domains (its prefix ends in `istio.io`), so the analyzer must know it? */
export function isMeshAnnotation(name: string): boolean {
  if (name === 'kubernetes.io/ingress.class') return true;
  return name.split('/')[0]!.endsWith('istio.io');
}
