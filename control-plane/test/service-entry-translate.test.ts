/**
 * ServiceEntry and WorkloadEntry translation: DNS entries are STRICT_DNS clusters over the
 * endpoints' names (the host itself without endpoints), DNS_ROUND_ROBIN is LOGICAL_DNS,
 * STATIC entries EDS with their endpoints; `workloadSelector` picks WorkloadEntries and pods
 * of the entry's namespace with their weight, identity and tlsMode; MESH_EXTERNAL gets no
 * auto mTLS; validation follows Istio's rules. Everything compiles with the proxy's compiler.
 */
import t from 'tap';
import { formatIssue } from '@minimesh/kube';
import { buildMeshModel, generateForProxy, loadManifests, proxyIdentity } from '../src/index.js';
import { compileAll } from './helpers/compile.js';

const NODE = 'sidecar~10.0.0.9~client-1.default~default.svc.cluster.local';
type Json = Record<string, any>;

function translate(yaml: string, mtls = false) {
  const loaded = loadManifests(yaml, 'in.yaml');
  const model = buildMeshModel(loaded.resources.map((r) => r.resource));
  const res = generateForProxy(model, proxyIdentity(NODE, { LABELS: { app: 'client' } }, model), { mtls });
  const cluster = (name: string) => res.clusters.find((c) => c.name === name) as Json | undefined;
  const cla = (name: string) => res.endpoints.find((e) => e.cluster_name === name) as Json | undefined;
  return { issues: loaded.issues.map(formatIssue), loadErrors: loaded.issues, model, res, cluster, cla, compiled: compileAll(res) };
}

const se = (name: string, spec: string, ns = 'default'): string => `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: ${name}, namespace: ${ns} }
spec:
${spec}
---
`;

t.test('resolution DNS: STRICT_DNS over the host, or over the endpoints with their ports', async (t) => {
  const { cluster, compiled, issues } = translate(
    se('httpbin', `  hosts: [httpbin.org]
  ports: [{ number: 80, name: http, protocol: HTTP }, { number: 443, name: tls, protocol: TLS }]
  resolution: DNS
  location: MESH_EXTERNAL`) +
      se('api', `  hosts: [api.example.com]
  ports: [{ number: 80, name: http, protocol: HTTP, targetPort: 8080 }]
  resolution: DNS
  endpoints: [{ address: a.example.net }, { address: b.example.net, ports: { http: 9090 }, weight: 3 }]`),
  );
  t.same(compiled.errors, []);
  t.same(issues, []);
  const hb = cluster('outbound|80||httpbin.org')!;
  t.equal(hb.type, 'STRICT_DNS');
  t.equal(hb.dns_lookup_family, 'V4_ONLY');
  t.same(hb.load_assignment.endpoints[0].lb_endpoints, [{ endpoint: { address: { socket_address: { address: 'httpbin.org', port_value: 80 } } } }]);
  t.equal(cluster('outbound|443||httpbin.org')!.type, 'STRICT_DNS', 'a TLS port has its cluster too');
  t.same(hb.metadata.filter_metadata.istio.services, [{ host: 'httpbin.org', name: 'httpbin.org', namespace: 'default' }], 'metrics: the host names the service');
  const api = cluster('outbound|80||api.example.com')!;
  t.same(
    api.load_assignment.endpoints[0].lb_endpoints.map((e: Json) => [e.endpoint.address.socket_address.address, e.endpoint.address.socket_address.port_value, e.load_balancing_weight]),
    [['a.example.net', 8080, undefined], ['b.example.net', 9090, 3]],
  );
});

t.test('resolution DNS_ROUND_ROBIN: LOGICAL_DNS with its one name', async (t) => {
  const { cluster, compiled } = translate(se('rr', `  hosts: [rr.example.com]
  ports: [{ number: 80, name: http, protocol: HTTP }]
  resolution: DNS_ROUND_ROBIN`));
  t.same(compiled.errors, []);
  const c = cluster('outbound|80||rr.example.com')!;
  t.equal(c.type, 'LOGICAL_DNS');
  t.equal(c.load_assignment.endpoints[0].lb_endpoints.length, 1);
});

t.test('resolution STATIC: EDS with the inline endpoints, weights and labels; subsets by label', async (t) => {
  const { cluster, cla, compiled, issues } = translate(
    se('static', `  hosts: [db.internal]
  ports: [{ number: 5432, name: tcp-db, protocol: TCP }, { number: 80, name: http, protocol: HTTP }]
  resolution: STATIC
  location: MESH_INTERNAL
  endpoints:
  - { address: 10.1.0.1, labels: { version: v1 } }
  - { address: 10.1.0.2, labels: { version: v2 }, weight: 4, ports: { http: 8080 } }`) +
      `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: db, namespace: default }
spec: { host: db.internal, subsets: [{ name: v2, labels: { version: v2 } }] }
---
`,
  );
  t.same(compiled.errors, []);
  t.same(issues, []);
  t.equal(cluster('outbound|80||db.internal')!.type, 'EDS');
  const all = cla('outbound|80||db.internal')!;
  t.same(all.endpoints[0].lb_endpoints.map((e: Json) => [e.endpoint.address.socket_address.address, e.endpoint.address.socket_address.port_value, e.load_balancing_weight]), [['10.1.0.1', 80, 1], ['10.1.0.2', 8080, 4]]);
  t.equal(all.endpoints[0].load_balancing_weight, 5, 'the locality weighs what its endpoints weigh');
  t.same(cla('outbound|80|v2|db.internal')!.endpoints[0].lb_endpoints.map((e: Json) => e.endpoint.address.socket_address.address), ['10.1.0.2']);
  t.same(cla('outbound|5432||db.internal')!.endpoints[0].lb_endpoints.map((e: Json) => e.endpoint.address.socket_address.port_value), [5432, 5432]);
});

const WORKLOADS = `apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: { name: vm-1, namespace: default }
spec: { address: 10.2.0.1, labels: { app: legacy, security.istio.io/tlsMode: istio }, serviceAccount: legacy-sa, weight: 2, locality: us-east/zone-a, ports: { http: 8080 } }
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: { name: vm-2, namespace: default }
spec: { address: 10.2.0.2, labels: { app: legacy } }
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: { name: other-ns, namespace: elsewhere }
spec: { address: 10.2.0.9, labels: { app: legacy } }
---
apiVersion: v1
kind: Pod
metadata: { name: legacy-pod, namespace: default, labels: { app: legacy, security.istio.io/tlsMode: istio } }
spec: { serviceAccountName: pod-sa, containers: [{ name: app, image: x }] }
status: { podIP: 10.3.0.1, phase: Running }
---
`;

t.test('workloadSelector: WorkloadEntries and pods of the namespace, with identity and tlsMode', async (t) => {
  const { cla, cluster, compiled, issues } = translate(
    WORKLOADS +
      se('legacy', `  hosts: [legacy.example.internal]
  ports: [{ number: 80, name: http, protocol: HTTP }]
  resolution: STATIC
  workloadSelector: { labels: { app: legacy } }`),
    true,
  );
  t.same(compiled.errors, []);
  t.same(issues, []);
  // vm-1 has its own locality (us-east/zone-a): its own group; the others have none.
  const addr = (e: Json): string => e.endpoint.address.socket_address.address;
  const eps = (cla('outbound|80||legacy.example.internal')!.endpoints as Json[]).flatMap((g) => g.lb_endpoints as Json[]).sort((a, b) => addr(a).localeCompare(addr(b)));
  t.same(eps.map((e) => [e.endpoint.address.socket_address.address, e.endpoint.address.socket_address.port_value, e.load_balancing_weight]), [['10.2.0.1', 8080, 2], ['10.2.0.2', 80, 1], ['10.3.0.1', 80, 1]], 'vm-1, vm-2 and the pod; not the other namespace');
  t.same(eps[0].metadata.filter_metadata['envoy.transport_socket_match'], { tlsMode: 'istio' }, 'tlsMode from the labels');
  t.match(eps[0].metadata.filter_metadata.istio.workload, /^vm-1;default;legacy;/);
  t.notOk(eps[1].metadata?.filter_metadata?.['envoy.transport_socket_match'], 'no tlsMode label: plain text');
  const c = cluster('outbound|80||legacy.example.internal')!;
  const sans = JSON.stringify(c.transport_socket_matches ?? c.transport_socket ?? {});
  t.match(sans, /spiffe:\/\/cluster\.local\/ns\/default\/sa\/legacy-sa/, 'the WorkloadEntry service account is an accepted identity');
  t.match(sans, /spiffe:\/\/cluster\.local\/ns\/default\/sa\/pod-sa/, 'and the pod one');
});

t.test('MESH_EXTERNAL: no auto mTLS even to endpoints labelled istio', async (t) => {
  const { cluster, compiled } = translate(
    WORKLOADS +
      se('ext', `  hosts: [ext.example.com]
  ports: [{ number: 80, name: http, protocol: HTTP }]
  resolution: STATIC
  location: MESH_EXTERNAL
  workloadSelector: { labels: { app: legacy } }`),
    true,
  );
  t.same(compiled.errors, []);
  const c = cluster('outbound|80||ext.example.com')!;
  t.notOk(c.transport_socket_matches, 'no tlsMode socket match');
  t.notOk(c.transport_socket);
});

t.test('validation: Istio rules for hosts, resolution, endpoints and WorkloadEntry', async (t) => {
  const bad = (spec: string) => translate(se('bad', spec)).issues.join('\n');
  t.match(bad(`  hosts: ['*']\n  ports: [{ number: 80, name: http }]\n  resolution: STATIC`), /must not be "\*" alone/);
  t.match(bad(`  hosts: ['*.example.com']\n  ports: [{ number: 80, name: http }]\n  resolution: DNS`), /wildcard host cannot be resolved/);
  t.match(bad(`  hosts: [a.example.com]\n  ports: [{ number: 80, name: http }]\n  resolution: STATIC\n  endpoints: [{ address: not-an-ip.example.com }]`), /must be an IP address with resolution STATIC/);
  t.match(bad(`  hosts: [a.example.com]\n  ports: [{ number: 80, name: http }]\n  resolution: DNS_ROUND_ROBIN\n  endpoints: [{ address: a.example.net }, { address: b.example.net }]`), /at most one endpoint/);
  t.match(bad(`  hosts: [a.example.com]\n  resolution: STATIC\n  endpoints: [{ address: 10.0.0.1 }]\n  workloadSelector: { labels: { app: x } }`), /only one of endpoints or workloadSelector/);
  const we = translate(`apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: { name: w, namespace: default }
spec: { labels: { app: x }, weight: -1, bogus: 1 }
`).issues.join('\n');
  t.match(we, /spec\.address/, 'an address is required');
  t.match(we, /spec\.weight/);
  t.match(we, /spec\.bogus/);
  t.notMatch(translate(se('ok', `  hosts: ['*.wild.example.com']\n  ports: [{ number: 443, name: tls, protocol: TLS }]\n  resolution: NONE`)).issues.join('\n'), /error/i, 'a wildcard with NONE is fine (a warning at most)');
});

t.test('wildcard hosts: a cluster and a virtual host for *.example.com (DNS with an endpoint)', async (t) => {
  const { cluster, res, compiled, issues } = translate(se('wild', `  hosts: ['*.wild.example.com']
  ports: [{ number: 80, name: http, protocol: HTTP }]
  resolution: DNS
  endpoints: [{ address: proxy.wild.example.net }]`));
  t.same(compiled.errors, []);
  t.same(issues, []);
  t.equal(cluster('outbound|80||*.wild.example.com')!.type, 'STRICT_DNS');
  const domains = JSON.stringify(res.routes);
  t.match(domains, /"\*\.wild\.example\.com"/, 'the wildcard is a virtual host domain');
});

t.test('ports by protocol: HTTP routed by Host, TLS and TCP tunnelled (CONNECT in the local mesh forward proxy)', async (t) => {
  const loaded = loadManifests(
    se('multi', `  hosts: [api.example.com]
  ports: [{ number: 443, name: tls, protocol: TLS }, { number: 80, name: http, protocol: HTTP }, { number: 5432, name: db, protocol: TCP }]
  resolution: DNS
  location: MESH_EXTERNAL`),
    'in.yaml',
  );
  const model = buildMeshModel(loaded.resources.map((r) => r.resource));
  const res = generateForProxy(model, proxyIdentity(NODE, { LABELS: { app: 'client' } }, model), { outboundForwardProxy: true });
  t.same(compileAll(res).errors, []);
  const vhosts = (res.routes as Json[]).flatMap((r) => r.virtual_hosts as Json[]);
  const http = vhosts.find((v) => v.name === 'api.example.com:80')!;
  t.ok(http.domains.includes('api.example.com'), 'HTTP: a virtual host by name');
  t.equal(http.routes[0].route.cluster, 'outbound|80||api.example.com');
  for (const port of [443, 5432]) {
    const v = vhosts.find((x) => x.name === `api.example.com:${port}`)!;
    t.same(v.routes[0].match, { connect_matcher: {} }, `${port}: CONNECT only`);
    t.equal(v.routes[0].route.cluster, `outbound|${port}||api.example.com`);
  }
});
