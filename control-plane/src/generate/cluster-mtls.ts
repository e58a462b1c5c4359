/**
 * The TLS of an outbound cluster in a mesh whose sidecars terminate mTLS inbound (the
 * `mtls` generate option): the DestinationRule's `tls` (port level and subset merged), else
 * auto mTLS towards the endpoints whose pods take it. The accepted SANs are the SPIFFE ids of
 * the service accounts behind the service's endpoints, in the mesh's trust domain.
 */
import type { EndpointModel, MeshModel, ServiceModel } from '../model/mesh-model.js';
import { clusterTlsFields, type ClientTlsSettings } from './build-upstream-tls.js';
import type { JsonObject } from './envoy-json.js';
import { HTTP_PROTOCOL_OPTIONS_KEY } from './upstream-protocol.js';

/** `spiffe://TRUST_DOMAIN/ns/NS/sa/SA`. */
export const spiffeId = (trustDomain: string, namespace: string, serviceAccount: string): string => `spiffe://${trustDomain}/ns/${namespace}/sa/${serviceAccount}`;

const namespaceOf = (e: EndpointModel): string | undefined => (e.podRef === undefined ? undefined : e.podRef.slice(e.podRef.lastIndexOf('.') + 1));

/** The sorted SPIFFE ids of the pods behind the service's endpoints on `port` (all ports when undefined). */
export function serviceIdentities(model: MeshModel, svc: ServiceModel, port?: number): string[] {
  const ids = new Set<string>();
  const lists = port === undefined ? [...svc.endpoints.values()] : [svc.endpoints.get(port) ?? []];
  for (const eps of lists) {
    for (const e of eps) {
      const ns = namespaceOf(e);
      if (e.serviceAccount !== undefined && ns !== undefined) ids.add(spiffeId(model.meshConfig.trustDomain, ns, e.serviceAccount));
    }
  }
  return [...ids].sort();
}

/** Whether a cluster built so far speaks HTTP/2 upstream (its explicit HTTP/2 options). */
export function clusterSpeaksHttp2(c: JsonObject): boolean {
  const po = (c.typed_extension_protocol_options as JsonObject | undefined)?.[HTTP_PROTOCOL_OPTIONS_KEY] as JsonObject | undefined;
  const explicit = po?.explicit_http_config as JsonObject | undefined;
  return explicit?.http2_protocol_options !== undefined;
}

/** Adds the cluster's TLS fields (nothing when it stays plain text). */
export function applyClusterMtls(c: JsonObject, model: MeshModel, svc: ServiceModel, port: number, subset: string | undefined, tls: unknown): void {
  const fields = clusterTlsFields(
    { port, subset, host: svc.hostname, serviceIdentities: serviceIdentities(model, svc, port), http2: clusterSpeaksHttp2(c) },
    tls as ClientTlsSettings | undefined,
    // No auto mTLS to the outside of the mesh (a MESH_EXTERNAL ServiceEntry), as Istio.
    svc.meshExternal !== true && (model.meshConfig.enableAutoMtls ?? true),
  );
  Object.assign(c, fields);
}
