/**
 * ServiceEntry `resolution: NONE`, translated as Istio does: each port's outbound cluster is
 * ORIGINAL_DST with CLUSTER_PROVIDED balancing (whatever the DestinationRule's loadBalancer),
 * no endpoints; HTTP ports get their virtual host (the host and the entry's address as
 * domains), TCP ports their CONNECT virtual host on the local mesh's forward proxy;
 * endpoints with NONE are an error. The proxy's compiler takes it all.
 */
import t from 'tap';
import { formatIssue } from '@minimesh/kube';
import { buildMeshModel, generateForProxy, loadManifests, proxyIdentity } from '../src/index.js';
import { compileAll } from './helpers/compile.js';

const NODE = 'sidecar~10.0.0.9~client-1.default~default.svc.cluster.local';
type Json = Record<string, any>;

const ENTRY = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: legacy, namespace: default }
spec:
  hosts: [legacy.example]
  addresses: [127.0.0.153]
  ports: [{ number: 8080, name: http, protocol: HTTP }, { number: 9000, name: tcp, protocol: TCP }]
  resolution: NONE
  location: MESH_EXTERNAL
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: legacy, namespace: default }
spec:
  host: legacy.example
  trafficPolicy:
    loadBalancer: { simple: ROUND_ROBIN, localityLbSetting: { enabled: true } }
    connectionPool: { tcp: { maxConnections: 7, connectTimeout: 2s } }
`;

function translate(yaml: string, forwardProxy: boolean) {
  const loaded = loadManifests(yaml, 'in.yaml');
  const model = buildMeshModel(loaded.resources.map((r) => r.resource));
  const res = generateForProxy(model, proxyIdentity(NODE, { LABELS: { app: 'client' } }, model), forwardProxy ? { outboundForwardProxy: true } : {});
  return { issues: loaded.issues.map(formatIssue), res, compiled: compileAll(res) };
}

t.test('resolution NONE: ORIGINAL_DST clusters, HTTP and CONNECT virtual hosts', async (t) => {
  const { issues, res, compiled } = translate(ENTRY, true);
  t.same(issues, [], 'no "not supported" warning any more');
  t.same(compiled.errors, []);
  const http = res.clusters.find((c) => c.name === 'outbound|8080||legacy.example') as Json;
  t.equal(http.type, 'ORIGINAL_DST');
  t.equal(http.lb_policy, 'CLUSTER_PROVIDED', 'the DestinationRule loadBalancer does not apply');
  t.equal(http.connect_timeout, '2s');
  t.equal(http.circuit_breakers.thresholds[0].max_connections, 7, 'the connection pool does');
  t.equal(http.load_assignment, undefined);
  t.equal(http.common_lb_config?.locality_weighted_lb_config, undefined);
  t.equal((res.clusters.find((c) => c.name === 'outbound|9000||legacy.example') as Json).type, 'ORIGINAL_DST');
  t.notOk(res.endpoints.some((e) => String(e.cluster_name).includes('legacy.example')), 'no EDS for it');

  const vhosts = (res.routes[0] as Json).virtual_hosts as Json[];
  const vh = vhosts.find((v) => (v.domains as string[]).includes('legacy.example:8080'))!;
  t.ok(vh, 'an HTTP virtual host for the entry');
  t.ok(vh.domains.includes('127.0.0.153:8080'), 'its address is a domain');
  t.equal(vh.routes[0].route.cluster, 'outbound|8080||legacy.example');
  const connect = vhosts.find((v) => (v.domains as string[]).includes('legacy.example:9000'))!;
  t.equal(connect.routes[0].route.cluster, 'outbound|9000||legacy.example', 'CONNECT to the TCP port goes to its ORIGINAL_DST cluster');
});

t.test('sidecar listeners per port (no forward proxy) route the HTTP port too', async (t) => {
  const { res, compiled } = translate(ENTRY, false);
  t.same(compiled.errors, []);
  const rc = res.routes.find((r) => r.name === '8080') as Json;
  t.ok((rc.virtual_hosts as Json[]).some((v) => v.routes[0].route?.cluster === 'outbound|8080||legacy.example'));
});

t.test('endpoints with resolution NONE are an error', async (t) => {
  const { issues } = translate(
    `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: bad, namespace: default }
spec:
  hosts: [bad.example]
  ports: [{ number: 80, name: http, protocol: HTTP }]
  resolution: NONE
  endpoints: [{ address: 127.0.0.154 }]
`,
    true,
  );
  t.match(issues.join('\n'), /spec\.endpoints: resolution NONE takes no endpoints/);
});
