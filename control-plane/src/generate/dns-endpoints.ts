/**
 * The lb_endpoints of a DNS ServiceEntry's cluster: each name to resolve with its port, its
 * weight (a WorkloadEntry's `weight`) and metadata (`istio.workload` for metrics, and the
 * `tlsMode: istio` socket match that auto mTLS keys on).
 */
import type { EndpointModel } from '../model/mesh-model.js';
import { endpointMetadata } from './build-endpoints.js';
import type { JsonObject } from './envoy-json.js';

export function dnsLbEndpoint(e: EndpointModel): JsonObject {
  const metadata = endpointMetadata(e);
  return {
    endpoint: { address: { socket_address: { address: e.address, port_value: e.port } } },
    ...(metadata ? { metadata } : {}),
    ...(e.weight !== undefined ? { load_balancing_weight: e.weight } : {}),
  };
}
