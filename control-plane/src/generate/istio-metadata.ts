/**
 * The metadata Istio puts on clusters and endpoints for its proxies' metrics:
 *   cluster   `filter_metadata.istio.services: [{host, name, namespace}]` (destination_service*),
 *             and `config: /apis/networking.istio.io/v1/namespaces/NS/destination-rule/NAME`
 *             when a DestinationRule shaped it (`proxy-config clusters` shows it)
 *   endpoint  `filter_metadata.istio.workload: "NAME;NAMESPACE;CANONICAL_NAME;REVISION;CLUSTER"`
 *             (destination_* when the server sidecar did not answer the metadata exchange)
 */
import { DEFAULT_CLUSTER_ID, ISTIO_METADATA_KEY, LATEST } from '@minimesh/mesh';
import type { EndpointModel, ServiceModel } from '../model/mesh-model.js';
import type { JsonObject } from './envoy-json.js';

export function clusterServiceMetadata(services: readonly Pick<ServiceModel, 'hostname' | 'name' | 'namespace'>[], destinationRule?: { readonly apiVersion?: string; readonly metadata: { readonly name: string; readonly namespace?: string } }): JsonObject {
  const svc = { services: services.map((s) => ({ host: s.hostname, name: s.name, namespace: s.namespace })) };
  const dr = destinationRule;
  const config = dr === undefined ? {} : { config: `/apis/${dr.apiVersion ?? 'networking.istio.io/v1'}/namespaces/${dr.metadata.namespace ?? 'default'}/destination-rule/${dr.metadata.name}` };
  return { filter_metadata: { [ISTIO_METADATA_KEY]: { ...config, ...svc } } };
}

/** Istio's canonical service and revision of a workload's labels. */
export function canonicalOf(labels: Readonly<Record<string, string>>, workload: string): { service: string; revision: string } {
  return {
    service: labels['service.istio.io/canonical-name'] || labels['app.kubernetes.io/name'] || labels.app || workload,
    revision: labels['service.istio.io/canonical-revision'] || labels['app.kubernetes.io/version'] || labels.version || LATEST,
  };
}

/** An endpoint's `istio.workload` metadata, or undefined when it is not a known pod. */
export function endpointWorkloadMetadata(e: EndpointModel, clusterId = DEFAULT_CLUSTER_ID): JsonObject | undefined {
  if (e.workload === undefined || e.podRef === undefined) return undefined;
  const ns = e.podRef.slice(e.podRef.lastIndexOf('.') + 1);
  const c = canonicalOf(e.labels, e.workload);
  return { filter_metadata: { [ISTIO_METADATA_KEY]: { workload: [e.workload, ns, c.service, c.revision, clusterId].join(';') } } };
}
