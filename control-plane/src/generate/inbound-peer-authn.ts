/**
 * An inbound sidecar listener as PeerAuthentication makes it (the `mtls` generate option):
 * its one plain chain becomes the mode's chains (build-inbound-mtls.ts), the listener gets
 * `tls_inspector`, and an HTTP port's connection manager forwards the client certificate's
 * details upstream as Istio's inbound sidecars do (`APPEND_FORWARD`; Subject, URI, DNS).
 */
import { HCM_FILTER, type JsonObject } from './envoy-json.js';
import { inboundMtlsChains, tlsInspector } from './build-inbound-mtls.js';
import { effectiveMtlsMode, type EffectiveMtlsMode, type PeerAuthenticationPolicy } from '../security/peer-authentication.js';
import type { MeshModel } from '../model/mesh-model.js';
import type { ProxyIdentity } from '../model/proxy-identity.js';

/** The mode the proxy's workload receives with on `port`. */
export function inboundMtlsMode(model: MeshModel, proxy: ProxyIdentity, port: number): EffectiveMtlsMode {
  const policies: PeerAuthenticationPolicy[] = model.peerAuthentications.map((p) => ({
    name: p.metadata.name,
    namespace: p.metadata.namespace ?? 'default',
    creationTimestamp: (p.metadata as { creationTimestamp?: string }).creationTimestamp,
    spec: p.spec ?? {},
  }));
  return effectiveMtlsMode(policies, { namespace: proxy.namespace, labels: proxy.labels }, port, model.meshConfig.rootNamespace);
}

/** Istio's inbound client-certificate forwarding on an HCM's typed config. */
export function withClientCertDetails(f: JsonObject): JsonObject {
  if (f.name !== HCM_FILTER) return f;
  const tc = f.typed_config as JsonObject;
  return { ...f, typed_config: { ...tc, forward_client_cert_details: 'APPEND_FORWARD', set_current_client_cert_details: { subject: true, uri: true, dns: true } } };
}

/** The listener (built with a single plain chain) with the mode's chains and `tls_inspector`. */
export function applyInboundMtls(listener: JsonObject, mode: EffectiveMtlsMode, http: boolean): JsonObject {
  const [chain] = listener.filter_chains as JsonObject[];
  const filters = (chain.filters as JsonObject[]).map(withClientCertDetails);
  const { filter_chains: _, ...rest } = listener;
  return { ...rest, listener_filters: [tlsInspector()], filter_chains: inboundMtlsChains(mode, http, filters) };
}
