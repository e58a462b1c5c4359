/**
 * The mTLS wiring of translation: PeerAuthentication validated (errors name the field), the
 * model's service accounts and tlsMode (Pods, and pods registered from node metadata), the
 * endpoints' transport socket match, outbound clusters with auto mTLS or the DestinationRule's
 * TLS only under the `mtls` option (capture mode too), inbound chains by mode (capture mode's
 * virtualInbound: capture-mtls-generate.test.ts).
 */
import t from 'tap';
import { validateResource, type KubeResource } from '@minimesh/kube';
import { buildMeshModel, generateForProxy, parseMeshConfig, proxyIdentity, type JsonObject } from '../src/index.js';
import { podFromProxy } from '../src/server/registered-pods.js';

const errorsOf = (obj: unknown): string[] => {
  const r = validateResource(obj);
  return r.ok === false ? r.errors.map((e) => `${e.field}: ${e.message}`) : [];
};

const pa = (spec: unknown, namespace = 'shop'): unknown => ({ apiVersion: 'security.istio.io/v1beta1', kind: 'PeerAuthentication', metadata: { name: 'p', namespace }, spec });

t.test('PeerAuthentication validation names the field', async (t) => {
  t.same(errorsOf(pa({ mtls: { mode: 'STRICT' } })), [], 'v1beta1 STRICT is valid');
  t.same(errorsOf({ ...(pa({ mtls: { mode: 'strict' } }) as object), apiVersion: 'security.istio.io/v1' }), [], 'v1, any case');
  t.match(errorsOf(pa({ mtls: { mode: 'TIGHT' } })).join('\n'), /spec\.mtls\.mode: unknown mode "TIGHT"/);
  t.match(errorsOf(pa({ portLevelMtls: { '8080': { mode: 'DISABLE' } } })).join('\n'), /spec\.portLevelMtls: portLevelMtls requires selector/);
  t.match(errorsOf(pa({ selector: { matchLabels: { app: 'a' } }, portLevelMtls: { '0': { mode: 'DISABLE' } } })).join('\n'), /spec\.portLevelMtls\[0\]: port must be between 1 and 65535/);
  t.match(errorsOf(pa({ mtls: { mode: 'STRICT', extra: 1 } })).join('\n'), /spec\.mtls\.extra: unknown field/);
  t.match(errorsOf(pa({ mtls: { mode: 3 } })).join('\n'), /spec\.mtls\.mode/);
});

const resources = (extra: unknown[] = [], podLabels: Record<string, string> = { app: 'cart', 'security.istio.io/tlsMode': 'istio' }): KubeResource[] =>
  [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } },
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 'cart', namespace: 'shop' }, spec: { selector: { app: 'cart' }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] } },
    { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'cart-1', namespace: 'shop', labels: podLabels }, spec: { serviceAccountName: 'cart-sa', containers: [{ name: 'c', image: 'i', ports: [{ containerPort: 8080 }] }] }, status: { podIP: '10.0.0.5', phase: 'Running' } },
    { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web-1', namespace: 'shop', labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'i' }] }, status: { podIP: '10.0.0.6', phase: 'Running' } },
    ...extra,
  ].map((o) => {
    const r = validateResource(o);
    if (r.ok !== true) throw new Error(JSON.stringify(r));
    return r.resource;
  });

const CART = 'sidecar~10.0.0.5~cart-1.shop~shop.svc.cluster.local';
const WEB = 'sidecar~10.0.0.6~web-1.shop~shop.svc.cluster.local';
const gen = (rs: KubeResource[], id: string, options: object, labels: Record<string, string>, meshYaml?: string) => {
  const model = buildMeshModel(rs, meshYaml === undefined ? {} : { meshConfig: parseMeshConfig(meshYaml, 'mesh.yaml').config });
  return generateForProxy(model, proxyIdentity(id, { LABELS: labels }, model), options);
};
const LOCAL = { outboundForwardProxy: true, bindProxyAddress: true, mtls: true };
const cartCluster = (res: { clusters: JsonObject[] }): JsonObject => res.clusters.find((c) => c.name === 'outbound|80||cart.shop.svc.cluster.local')!;

t.test('the model: service accounts and tlsMode; endpoints carry the transport socket match', async (t) => {
  const model = buildMeshModel(resources());
  const w = model.workloads.find((x) => x.name === 'cart-1')!;
  t.equal(w.serviceAccount, 'cart-sa');
  t.equal(w.tlsMode, 'istio');
  t.equal(model.workloads.find((x) => x.name === 'web-1')!.serviceAccount, 'default', 'no serviceAccountName: default');
  const res = gen(resources(), WEB, LOCAL, { app: 'web' });
  const ep = (res.endpoints.find((e) => e.cluster_name === 'outbound|80||cart.shop.svc.cluster.local')!.endpoints as JsonObject[])[0].lb_endpoints as JsonObject[];
  t.same((ep[0].metadata as JsonObject).filter_metadata, { istio: { workload: 'cart-1;shop;cart;latest;Kubernetes' }, 'envoy.transport_socket_match': { tlsMode: 'istio' } });
  const plain = gen(resources([], { app: 'cart' }), WEB, LOCAL, { app: 'web' });
  const ep2 = (plain.endpoints.find((e) => e.cluster_name === 'outbound|80||cart.shop.svc.cluster.local')!.endpoints as JsonObject[])[0].lb_endpoints as JsonObject[];
  t.notOk(JSON.stringify(ep2).includes('transport_socket_match'), 'a pod without the label gets no match metadata');
});

t.test('registered pods: tlsMode istio, service account from SERVICE_ACCOUNT', async (t) => {
  const pod = podFromProxy('sidecar~127.0.0.9~cart-local-00001.shop~shop.svc.cluster.local', { LABELS: { app: 'cart' }, SERVICE_ACCOUNT: 'cart-sa' }, [])!;
  t.equal(pod.metadata.labels?.['security.istio.io/tlsMode'], 'istio');
  t.equal(pod.spec?.serviceAccountName, 'cart-sa');
  t.equal(podFromProxy('sidecar~127.0.0.9~x-local-00001.shop~shop.svc.cluster.local', {}, [])!.spec?.serviceAccountName, 'default');
});

t.test('outbound clusters: auto mTLS with the service identities, only under the mtls option', async (t) => {
  const c = cartCluster(gen(resources(), WEB, LOCAL, { app: 'web' }));
  const matches = c.transport_socket_matches as JsonObject[];
  t.same(matches.map((m) => m.name), ['tlsMode-istio', 'tlsMode-disabled']);
  t.match(JSON.stringify(matches[0]), /"exact":"spiffe:\/\/cluster.local\/ns\/shop\/sa\/cart-sa"/, 'the SAN of the service account behind the endpoints');
  t.match(JSON.stringify(matches[0]), /"sni":"outbound_.80_._.cart.shop.svc.cluster.local"/);
  const td = cartCluster(gen(resources(), WEB, LOCAL, { app: 'web' }, 'trustDomain: example.org\n'));
  t.match(JSON.stringify(td), /spiffe:\/\/example.org\/ns\/shop\/sa\/cart-sa/, "the mesh config's trust domain");
  t.notOk(cartCluster(gen(resources(), WEB, LOCAL, { app: 'web' }, 'enableAutoMtls: false\n')).transport_socket_matches, 'enableAutoMtls: false');
  t.same((cartCluster(gen(resources(), WEB, { captureMode: true, mtls: true }, { app: 'web' })).transport_socket_matches as JsonObject[]).map((m) => m.name), ['tlsMode-istio', 'tlsMode-disabled'], 'capture mode: the same auto mTLS');
  t.notOk(cartCluster(gen(resources(), WEB, { captureMode: true }, { app: 'web' })).transport_socket_matches, 'capture mode without the mtls option: plain text');
  t.notOk(cartCluster(gen(resources(), WEB, {}, { app: 'web' })).transport_socket_matches, 'no mtls option: plain text');
  const dr = { apiVersion: 'networking.istio.io/v1', kind: 'DestinationRule', metadata: { name: 'cart', namespace: 'shop' }, spec: { host: 'cart', trafficPolicy: { tls: { mode: 'DISABLE' } }, subsets: [{ name: 'v1', labels: { app: 'cart' }, trafficPolicy: { tls: { mode: 'ISTIO_MUTUAL' } } }] } };
  const res = gen(resources([dr]), WEB, LOCAL, { app: 'web' });
  t.same(cartCluster(res).transport_socket_matches ?? cartCluster(res).transport_socket, undefined, 'DISABLE: plain text');
  const sub = res.clusters.find((x) => x.name === 'outbound|80|v1|cart.shop.svc.cluster.local')!;
  t.match(JSON.stringify(sub.transport_socket), /"sni":"outbound_.80_.v1_.cart.shop.svc.cluster.local"/, 'the subset merges ISTIO_MUTUAL over the rule');
});

t.test('inbound: the mode chains, tls_inspector, XFCC on the HCM', async (t) => {
  const inbound = (extra: unknown[] = []) => gen(resources(extra), CART, LOCAL, { app: 'cart' }).listeners.find((l) => l.traffic_direction === 'INBOUND')!;
  const permissive = inbound();
  t.same((permissive.listener_filters as JsonObject[]).map((f) => f.name), ['envoy.filters.listener.tls_inspector']);
  const chains = permissive.filter_chains as JsonObject[];
  t.same(chains.map((c) => (c.filter_chain_match as JsonObject).transport_protocol), ['tls', 'raw_buffer'], 'PERMISSIVE without a policy');
  t.match(JSON.stringify(chains[0]), /"forward_client_cert_details":"APPEND_FORWARD","set_current_client_cert_details":\{"subject":true,"uri":true,"dns":true\}/);
  const strict = { apiVersion: 'security.istio.io/v1', kind: 'PeerAuthentication', metadata: { name: 'default', namespace: 'istio-system' }, spec: { mtls: { mode: 'STRICT' } } };
  t.same((inbound([strict]).filter_chains as JsonObject[]).map((c) => (c.filter_chain_match as JsonObject).transport_protocol), ['tls'], 'mesh-wide STRICT');
  const port = { apiVersion: 'security.istio.io/v1', kind: 'PeerAuthentication', metadata: { name: 'cart', namespace: 'shop' }, spec: { selector: { matchLabels: { app: 'cart' } }, portLevelMtls: { '8080': { mode: 'DISABLE' } } } };
  t.same((inbound([strict, port]).filter_chains as JsonObject[]).map((c) => (c.filter_chain_match as JsonObject).transport_protocol), ['raw_buffer'], 'port-level DISABLE on the workload port');
});
