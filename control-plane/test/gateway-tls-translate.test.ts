/**
 * Gateway TLS translation: HTTPS servers SIMPLE / MUTUAL / ISTIO_MUTUAL (credentialName
 * Secrets as SDS `kubernetes://NAME` and `kubernetes://NAME-cacert`, or files), one chain
 * per server with its SNI names and the route configuration `https.PORT.PORTNAME.GW.NS`;
 * PASSTHROUGH chains to tcp_proxy from VirtualService tls routes; httpsRedirect as
 * `require_tls: ALL`; a missing or malformed Secret leaves that server out with a warning
 * while the others keep serving; the SDS authorization rule; validation messages. Everything
 * generated compiles with the proxy's own compiler.
 */
import t from 'tap';
import { formatIssue } from '@minimesh/kube';
import { buildMeshModel, generateForProxy, loadManifests, proxyIdentity } from '../src/index.js';
import { secretRefusalReason } from '../src/server/secret-authorization.js';
import { compileAll } from './helpers/compile.js';
import { caSecretYaml, makeCa, makeLeaf, tlsSecretYaml, type Ca, type Leaf } from './helpers/gateway-certs.js';

const NODE = 'router~10.0.0.5~ingress-1.istio-system~istio-system.svc.cluster.local';
const BASE = `apiVersion: v1
kind: Service
metadata: { name: productpage, namespace: default }
spec: { selector: { app: productpage }, ports: [{ name: http, port: 9080 }] }
---
apiVersion: v1
kind: Service
metadata: { name: nginx, namespace: default }
spec: { selector: { app: nginx }, ports: [{ name: https, port: 443 }] }
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: bookinfo, namespace: default }
spec:
  hosts: [bookinfo.example.com, shop.example.com, plain.example.com]
  gateways: [istio-system/gw]
  http: [{ route: [{ destination: { host: productpage, port: { number: 9080 } } }] }]
---
`;

const gateway = (servers: string): string => `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: gw, namespace: istio-system }
spec:
  selector: { istio: ingressgateway }
  servers:
${servers}
---
`;

type Chain = { filter_chain_match?: { server_names?: string[] }; transport_socket?: { typed_config: Record<string, any> }; filters: { name: string; typed_config: Record<string, any> }[] };

function translate(yaml: string) {
  const loaded = loadManifests(BASE + yaml, 'in.yaml');
  const model = buildMeshModel(loaded.resources.map((r) => r.resource));
  const res = generateForProxy(model, proxyIdentity(NODE, { LABELS: { istio: 'ingressgateway' } }, model));
  const listener = (name: string) => res.listeners.find((l) => l.name === name) as { listener_filters?: { name: string }[]; filter_chains: Chain[] } | undefined;
  return { issues: loaded.issues.map(formatIssue), res, listener, compiled: compileAll(res) };
}

let ca: Ca;
let clientCa: Ca;
let leaf: Leaf;
t.before(async () => {
  ca = await makeCa('server ca');
  clientCa = await makeCa('client ca');
  leaf = await makeLeaf(ca, 'bookinfo.example.com', ['bookinfo.example.com']);
});

t.test('SIMPLE with credentialName: SNI chain, SDS kubernetes://NAME, https route config, the Secret sent', async (t) => {
  const { res, listener, compiled, issues } = translate(
    tlsSecretYaml('bookinfo-cred', 'istio-system', leaf) +
      gateway(`  - port: { number: 443, name: https, protocol: HTTPS }
    hosts: [bookinfo.example.com]
    tls: { mode: SIMPLE, credentialName: bookinfo-cred, minProtocolVersion: TLSV1_3 }`),
  );
  t.same(issues, []);
  t.same(compiled.errors, [], 'compiles as the proxy would');
  const l = listener('0.0.0.0_8443')!;
  t.ok(l, 'the 443 server listens on the pod port 8443');
  t.same(l.listener_filters?.map((f) => f.name), ['envoy.filters.listener.tls_inspector']);
  t.equal(l.filter_chains.length, 1);
  const c = l.filter_chains[0];
  t.same(c.filter_chain_match, { server_names: ['bookinfo.example.com'] });
  const ctx = c.transport_socket!.typed_config;
  t.equal(ctx.require_client_certificate, false);
  t.same(ctx.common_tls_context.alpn_protocols, ['h2', 'http/1.1']);
  t.same(ctx.common_tls_context.tls_params, { tls_minimum_protocol_version: 'TLSv1_3' });
  t.same(ctx.common_tls_context.tls_certificate_sds_secret_configs, [{ name: 'kubernetes://bookinfo-cred', sds_config: { ads: {}, resource_api_version: 'V3' } }]);
  t.equal(c.filters[0].typed_config.rds.route_config_name, 'https.443.https.gw.istio-system');
  const rc = res.routes.find((r) => r.name === 'https.443.https.gw.istio-system') as { virtual_hosts: { name: string; domains: string[] }[] };
  t.same(rc.virtual_hosts.map((v) => v.name), ['bookinfo.example.com:443'], 'only the VirtualService hosts within the server hosts');
  t.same(res.secrets?.map((s) => s.name), ['kubernetes://bookinfo-cred']);
  const sent = res.secrets![0] as { tls_certificate: { certificate_chain: { inline_bytes: string }; private_key: { inline_bytes: string } } };
  t.equal(Buffer.from(sent.tls_certificate.certificate_chain.inline_bytes, 'base64').toString(), leaf.certPem);
  t.equal(Buffer.from(sent.tls_certificate.private_key.inline_bytes, 'base64').toString(), leaf.keyPem);
});

t.test('MUTUAL: the CA from NAME-cacert, else from ca.crt of the same Secret; a client certificate required', async (t) => {
  const servers = gateway(`  - port: { number: 443, name: https, protocol: HTTPS }
    hosts: [bookinfo.example.com]
    tls: { mode: MUTUAL, credentialName: bookinfo-cred, subjectAltNames: [client.example.com] }`);
  for (const [what, secrets] of [
    ['NAME-cacert', tlsSecretYaml('bookinfo-cred', 'istio-system', leaf) + caSecretYaml('bookinfo-cred-cacert', 'istio-system', clientCa.certPem)],
    ['ca.crt', tlsSecretYaml('bookinfo-cred', 'istio-system', leaf, clientCa.certPem)],
  ] as const) {
    const { res, listener, compiled } = translate(secrets + servers);
    t.same(compiled.errors, [], `${what}: compiles`);
    const ctx = listener('0.0.0.0_8443')!.filter_chains[0].transport_socket!.typed_config;
    t.equal(ctx.require_client_certificate, true);
    t.same(ctx.common_tls_context.combined_validation_context, {
      default_validation_context: { match_subject_alt_names: [{ exact: 'client.example.com' }] },
      validation_context_sds_secret_config: { name: 'kubernetes://bookinfo-cred-cacert', sds_config: { ads: {}, resource_api_version: 'V3' } },
    });
    const caSecret = res.secrets?.find((s) => s.name === 'kubernetes://bookinfo-cred-cacert') as { validation_context: { trusted_ca: { inline_bytes: string } } };
    t.equal(Buffer.from(caSecret.validation_context.trusted_ca.inline_bytes, 'base64').toString(), clientCa.certPem, `${what}: the CA is sent as a validation context`);
  }
});

t.test('ISTIO_MUTUAL uses the workload certificate and ROOTCA; files are read by path; `*` matches any SNI', async (t) => {
  const { res, listener, compiled } = translate(
    gateway(`  - port: { number: 443, name: https, protocol: HTTPS }
    hosts: ["*"]
    tls: { mode: ISTIO_MUTUAL }
  - port: { number: 9443, name: https-files, protocol: HTTPS }
    hosts: [bookinfo.example.com]
    tls: { mode: MUTUAL, serverCertificate: /etc/certs/tls.crt, privateKey: /etc/certs/tls.key, caCertificates: /etc/certs/ca.crt }`),
  );
  t.same(compiled.errors, []);
  const mesh = listener('0.0.0.0_8443')!.filter_chains[0];
  t.equal(mesh.filter_chain_match, undefined, 'hosts * -> no server_names');
  t.same(mesh.transport_socket!.typed_config.common_tls_context.tls_certificate_sds_secret_configs[0].name, 'default');
  t.same(mesh.transport_socket!.typed_config.common_tls_context.combined_validation_context.validation_context_sds_secret_config.name, 'ROOTCA');
  t.equal(mesh.transport_socket!.typed_config.require_client_certificate, true);
  const filesListener = listener('0.0.0.0_9443')!;
  const fctx = filesListener.filter_chains[0].transport_socket!.typed_config.common_tls_context;
  t.same(fctx.tls_certificates, [{ certificate_chain: { filename: '/etc/certs/tls.crt' }, private_key: { filename: '/etc/certs/tls.key' } }]);
  t.same(fctx.validation_context, { trusted_ca: { filename: '/etc/certs/ca.crt' } });
  t.equal(res.secrets, undefined, 'no credential Secrets');
});

t.test('a missing or malformed Secret leaves its server out, with a warning; the others keep serving', async (t) => {
  const bad = `apiVersion: v1
kind: Secret
metadata: { name: broken, namespace: istio-system }
type: kubernetes.io/tls
stringData: { tls.crt: "not a certificate", tls.key: "nor a key" }
---
`;
  const { res, listener, compiled } = translate(
    tlsSecretYaml('bookinfo-cred', 'istio-system', leaf) +
      bad +
      gateway(`  - port: { number: 443, name: https, protocol: HTTPS }
    hosts: [bookinfo.example.com]
    tls: { mode: SIMPLE, credentialName: bookinfo-cred }
  - port: { number: 443, name: https-shop, protocol: HTTPS }
    hosts: [shop.example.com]
    tls: { mode: SIMPLE, credentialName: missing-cred }
  - port: { number: 443, name: https-plain, protocol: HTTPS }
    hosts: [plain.example.com]
    tls: { mode: SIMPLE, credentialName: broken }`),
  );
  t.same(compiled.errors, []);
  t.same(listener('0.0.0.0_8443')!.filter_chains.map((c) => c.filter_chain_match?.server_names), [['bookinfo.example.com']], 'the good server keeps its chain');
  t.match(res.warnings.join('\n'), /Gateway istio-system\/gw server on port 443 \(hosts shop\.example\.com\): credentialName missing-cred: Secret istio-system\/missing-cred does not exist/);
  t.match(res.warnings.join('\n'), /credentialName broken: Secret istio-system\/broken tls\.crt is not a PEM certificate/);
  t.same(res.secrets?.map((s) => s.name), ['kubernetes://bookinfo-cred']);
});

t.test('a Secret of another namespace is not used: the gateway reads its own namespace', async (t) => {
  const { res } = translate(
    tlsSecretYaml('bookinfo-cred', 'default', leaf) +
      gateway(`  - port: { number: 443, name: https, protocol: HTTPS }
    hosts: [bookinfo.example.com]
    tls: { mode: SIMPLE, credentialName: bookinfo-cred }`),
  );
  t.equal(res.listeners.length, 0);
  t.match(res.warnings.join('\n'), /Secret istio-system\/bookinfo-cred does not exist/);
  t.equal(secretRefusalReason(NODE, 'kubernetes://bookinfo-cred'), undefined, "the gateway's own namespace");
  t.match(secretRefusalReason(NODE, 'kubernetes://default/bookinfo-cred'), /in namespace default, and a gateway proxy may read the Secrets of its own namespace \(istio-system\) only/);
  t.match(secretRefusalReason('sidecar~10.0.0.9~app-1.istio-system~istio-system.svc.cluster.local', 'kubernetes://bookinfo-cred'), /only gateway proxies/);
  t.match(secretRefusalReason(NODE, 'default'), /not a credential secret name/);
});

t.test('PASSTHROUGH: SNI chains to tcp_proxy from the VirtualService tls routes', async (t) => {
  const { listener, compiled, issues, res } = translate(
    gateway(`  - port: { number: 443, name: tls, protocol: TLS }
    hosts: [nginx.example.com, other.example.com]
    tls: { mode: PASSTHROUGH }`) +
      `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: nginx, namespace: default }
spec:
  hosts: [nginx.example.com]
  gateways: [istio-system/gw]
  tls:
  - match: [{ port: 443, sniHosts: [nginx.example.com] }]
    route: [{ destination: { host: nginx, port: { number: 443 } } }]
  - match: [{ port: 8443, sniHosts: [nginx.example.com] }]
    route: [{ destination: { host: nginx } }]
  - match: [{ sniHosts: [other.example.com] }]
    route: [{ destination: { host: nginx, subset: v1 }, weight: 80 }, { destination: { host: nginx, subset: v2 }, weight: 20 }]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: nginx, namespace: default }
spec: { host: nginx, subsets: [{ name: v1, labels: { v: "1" } }, { name: v2, labels: { v: "2" } }] }
---
`,
  );
  t.same(issues, []);
  t.same(compiled.errors, []);
  const chains = listener('0.0.0.0_8443')!.filter_chains;
  t.equal(chains.length, 2, 'the match on another port is left out');
  t.same(chains[0].filter_chain_match, { server_names: ['nginx.example.com'] });
  t.equal(chains[0].transport_socket, undefined, 'TLS is not terminated');
  t.same(chains[0].filters.map((f) => [f.name, f.typed_config.cluster]), [['envoy.filters.network.tcp_proxy', 'outbound|443||nginx.default.svc.cluster.local']]);
  t.same(chains[1].filter_chain_match, { server_names: ['other.example.com'] });
  t.same(chains[1].filters[0].typed_config.weighted_clusters, {
    clusters: [
      { name: 'outbound|443|v1|nginx.default.svc.cluster.local', weight: 80 },
      { name: 'outbound|443|v2|nginx.default.svc.cluster.local', weight: 20 },
    ],
  }, 'weights as weighted_clusters (a lone destination port is the service port)');
  t.equal(res.secrets, undefined);
});

t.test('httpsRedirect: the HTTP server virtual hosts require TLS', async (t) => {
  const { res, compiled } = translate(
    gateway(`  - port: { number: 80, name: http, protocol: HTTP }
    hosts: [bookinfo.example.com]
    tls: { httpsRedirect: true }
  - port: { number: 80, name: http2, protocol: HTTP }
    hosts: [plain.example.com]`),
  );
  t.same(compiled.errors, []);
  const rc = res.routes.find((r) => r.name === 'http.80') as { virtual_hosts: { name: string; require_tls?: string }[] };
  t.same(rc.virtual_hosts.map((v) => [v.name, v.require_tls]), [['bookinfo.example.com:80', 'ALL'], ['plain.example.com:80', undefined]]);
  const vh = [...compiled.routes.get('http.80')!.virtualHosts].find((v) => v.name === 'bookinfo.example.com:80');
  t.equal(vh?.requireTls, 'ALL', 'the proxy compiles require_tls');
});

t.test('validation names the field at fault', async (t) => {
  const { issues } = translate(
    gateway(`  - port: { number: 443, name: https, protocol: HTTPS }
    hosts: [a.example.com]
  - port: { number: 444, name: https2, protocol: HTTPS }
    hosts: [a.example.com]
    tls: { mode: SOMETIMES }
  - port: { number: 445, name: https3, protocol: HTTPS }
    hosts: [a.example.com]
    tls: { mode: MUTUAL, serverCertificate: /a.crt, privateKey: /a.key }
  - port: { number: 446, name: https4, protocol: HTTPS }
    hosts: [a.example.com]
    tls: { credentialName: forgot-the-mode }`) +
      `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: bad-tls, namespace: default }
spec:
  hosts: [x.example.com]
  tls: [{ match: [{ sniHosts: [] }], route: [{ destination: { port: { number: 70000 } }, weight: 101 }] }]
---
apiVersion: v1
kind: Secret
metadata: { name: s, namespace: default }
data: { tls.crt: "%%%not base64" }
---
`,
  );
  t.equal(issues.length, 9, issues.join('\n'));
  t.match(issues.join('\n'), /spec\.servers\[3\]\.tls\.mode: is unset, which means PASSTHROUGH: TLS is not terminated and credentialName is ignored \(set mode: SIMPLE to terminate it\)/);
  const all = issues.join('\n');
  t.match(all, /spec\.servers\[0\]\.tls: is required on an HTTPS server/);
  t.match(all, /spec\.servers\[1\]\.tls\.mode: must be one of PASSTHROUGH, SIMPLE/);
  t.match(all, /spec\.servers\[2\]\.tls\.caCertificates: is required for MUTUAL without credentialName/);
  t.match(all, /spec\.tls\[0\]\.match\[0\]\.sniHosts: must have at least one host/);
  t.match(all, /spec\.tls\[0\]\.route\[0\]\.destination\.host: is required/);
  t.match(all, /spec\.tls\[0\]\.route\[0\]\.weight/);
  t.match(all, /data\.tls\.crt: must be base64/);
});

t.test('gateways never trust a client\'s x-forwarded-client-cert (Istio\'s SANITIZE_SET)', async (t) => {
  const { generateForProxy, proxyIdentity, buildMeshModel, loadManifests } = await import('../src/index.js');
  const { resources } = loadManifests(`apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: gw, namespace: istio-system }
spec: { selector: { istio: ingressgateway }, servers: [{ port: { number: 80, name: http, protocol: HTTP }, hosts: ['*'] }] }
`, 'gw.yaml');
  const model = buildMeshModel(resources.map((r) => r.resource));
  const res = generateForProxy(model, proxyIdentity('router~10.9.0.1~gw-0.istio-system~istio-system.svc.cluster.local', { LABELS: { istio: 'ingressgateway' } }, model));
  const text = JSON.stringify(res.listeners);
  t.match(text, /"forward_client_cert_details":"SANITIZE_SET"/);
  t.match(text, /"set_current_client_cert_details":\{"subject":true,"dns":true,"uri":true\}/);
});
