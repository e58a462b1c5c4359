/**
 * The Sidecar resource's listener fields: `egress[].port` (the listener's hosts scope that
 * port only), `ingress[]` (inbound ports with `defaultEndpoint` replace the derived ones,
 * without and under capture), and the warnings for what cannot apply (`bind`, `captureMode`,
 * unix sockets). Each result is compiled with the proxy's own compiler.
 */
import t from 'tap';
import { compileAll } from './helpers/compile.js';
import { generateFromYaml } from './helpers/generate-yaml.js';
import type { GenerateOptions } from '../src/index.js';

const base = `
apiVersion: v1
kind: Service
metadata: { name: db, namespace: shop }
spec: { clusterIP: 10.96.2.1, selector: { app: db }, ports: [{ name: tcp-db, port: 3306 }] }
---
apiVersion: v1
kind: Service
metadata: { name: api, namespace: shop }
spec: { clusterIP: 10.96.2.2, selector: { app: api }, ports: [{ name: http, port: 8080 }, { name: http-admin, port: 9000 }] }
---
apiVersion: v1
kind: Service
metadata: { name: ledger, namespace: bank }
spec: { clusterIP: 10.96.3.1, selector: { app: ledger }, ports: [{ name: http, port: 8080 }] }
---
apiVersion: v1
kind: Pod
metadata: { name: web-1, namespace: shop, labels: { app: web } }
spec: { containers: [{ name: web, ports: [{ containerPort: 9080 }] }] }
status: { podIP: 10.10.0.9, phase: Running, conditions: [{ type: Ready, status: "True" }] }
---
apiVersion: v1
kind: Service
metadata: { name: web, namespace: shop }
spec: { clusterIP: 10.96.2.3, selector: { app: web }, ports: [{ name: http, port: 9080 }] }
`;

const LOCAL: GenerateOptions = { outboundForwardProxy: true, bindProxyAddress: true };
const sidecar = (spec: string): string => `apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: { name: web, namespace: shop }
spec:
  workloadSelector: { labels: { app: web } }
${spec}`;

function generate(extra: string, opts: GenerateOptions = LOCAL) {
  const { res, issues } = generateFromYaml(base + '---\n' + extra, { generate: opts });
  const compiled = compileAll(res);
  return { res, issues: issues.map((i) => `${i.level} ${i.kind} ${i.field}: ${i.message}`), errors: compiled.errors, clusters: res.clusters.map((c) => String(c.name)) };
}

const endpointOf = (res: ReturnType<typeof generate>['res'], cluster: string): unknown =>
  (res.clusters.find((c) => c.name === cluster) as { load_assignment?: { endpoints?: { lb_endpoints?: { endpoint?: { address?: unknown } }[] }[] } } | undefined)?.load_assignment?.endpoints?.[0]?.lb_endpoints?.[0]?.endpoint?.address;

t.test('egress[].port: that listener\'s hosts scope its port; other ports follow the listener without port', async (t) => {
  const { clusters, issues, errors } = generate(
    sidecar(`  egress:
  - port: { number: 8080, protocol: HTTP, name: http }
    hosts: ["bank/*"]
  - hosts: ["./*"]`),
  );
  t.same(issues.filter((i) => i.includes('Sidecar')), [], JSON.stringify(issues));
  t.same(errors, []);
  t.ok(clusters.includes('outbound|8080||ledger.bank.svc.cluster.local'), 'ledger:8080 through the 8080 listener (bank/*)');
  t.notOk(clusters.includes('outbound|8080||api.shop.svc.cluster.local'), 'api:8080 is not among the 8080 listener\'s hosts');
  t.ok(clusters.includes('outbound|9000||api.shop.svc.cluster.local'), 'api:9000 through the listener without port (./*)');
  t.ok(clusters.includes('outbound|3306||db.shop.svc.cluster.local'), 'db:3306 likewise');

  const only = generate(sidecar(`  egress:
  - port: { number: 8080, protocol: HTTP, name: http }
    hosts: ["./*"]`));
  t.ok(only.clusters.includes('outbound|8080||api.shop.svc.cluster.local'));
  t.notOk(only.clusters.includes('outbound|9000||api.shop.svc.cluster.local'), 'no listener without port: other ports hidden');
  t.notOk(only.clusters.includes('outbound|3306||db.shop.svc.cluster.local'));
  t.notOk(only.clusters.includes('outbound|8080||ledger.bank.svc.cluster.local'));
});

t.test('ingress: the declared ports replace the derived inbound, to their defaultEndpoint', async (t) => {
  const spec = `  ingress:
  - port: { number: 9080, protocol: HTTP, name: http }
    defaultEndpoint: 127.0.0.1:8081
  - port: { number: 7070, protocol: TCP, name: tcp }
    defaultEndpoint: 0.0.0.0:7071`;
  const { res, issues, errors } = generate(sidecar(spec));
  t.same(issues.filter((i) => i.includes('ingress')), []);
  t.same(errors, []);
  const names = res.listeners.map((l) => l.name);
  t.ok(names.includes('10.10.0.9_9080') && names.includes('10.10.0.9_7070'), `inbound listeners for the declared ports (${names.join(', ')})`);
  t.same(endpointOf(res, 'inbound|9080||'), { socket_address: { address: '127.0.0.1', port_value: 8081 } }, '127.0.0.1:8081: the app on another port');
  t.same(endpointOf(res, 'inbound|7070||'), { socket_address: { address: '10.10.0.9', port_value: 7071 } }, '0.0.0.0:PORT: the workload\'s own address');
  const tcp = res.listeners.find((l) => l.name === '10.10.0.9_7070') as { filter_chains: { filters: { name: string }[] }[] };
  t.equal(tcp.filter_chains[0].filters.at(-1)!.name, 'envoy.filters.network.tcp_proxy', 'protocol TCP: a tcp_proxy listener');

  const cap = generate(sidecar(spec), { captureMode: true });
  t.same(cap.errors, []);
  t.same(endpointOf(cap.res, 'inbound|9080||'), { socket_address: { address: '127.0.0.1', port_value: 8081 } }, 'under capture too');
  const vin = JSON.stringify(cap.res.listeners.find((l) => l.name === 'virtualInbound'));
  t.match(vin, /"destination_port":7070/, 'virtualInbound has chains for the declared port 7070');

  const derived = generate('');
  t.same(endpointOf(derived.res, 'inbound|9080||'), { socket_address: { address: '127.0.0.1', port_value: 9080 } }, 'without ingress: derived from the service, same port');
  t.notOk(derived.res.listeners.some((l) => l.name === '10.10.0.9_7070'));
});

t.test('what cannot apply is warned', async (t) => {
  const { res, issues } = generate(
    sidecar(`  ingress:
  - port: { number: 9080, protocol: HTTP, name: http }
    defaultEndpoint: unix:///var/run/app.sock
    captureMode: NONE
  - port: { number: 9090, protocol: HTTP, name: http2 }
  egress:
  - port: { number: 8080, protocol: HTTP, name: http }
    bind: 127.0.0.1
    captureMode: NONE
    hosts: ["./*"]`),
  );
  t.ok(res.warnings.some((w) => w.includes('unix domain sockets') && w.includes('9080')), 'unix socket: warned, left out');
  t.notOk(res.listeners.some((l) => l.name === '10.10.0.9_9080'));
  t.same(endpointOf(res, 'inbound|9090||'), { socket_address: { address: '127.0.0.1', port_value: 9090 } }, 'no defaultEndpoint: the same port');
  t.ok(issues.some((i) => i.includes('spec.ingress[0].captureMode') && i.includes('NONE')), `ingress captureMode warned (${issues.join(' | ')})`);
  t.ok(issues.some((i) => i.includes('spec.ingress[0].defaultEndpoint') && i.includes('unix')));
  t.notOk(issues.some((i) => i.includes('spec.egress[0]')), 'egress bind and captureMode NONE apply in the local mesh: no warning');
  const bad = generate(sidecar(`  ingress:
  - port: { number: 9080 }
    defaultEndpoint: localhost
  - defaultEndpoint: 127.0.0.1:1`));
  t.ok(bad.issues.some((i) => i.includes('spec.ingress[0].defaultEndpoint') && i.includes('IP:PORT')), 'a malformed endpoint: an error naming the field');
  t.ok(bad.issues.some((i) => i.includes('spec.ingress[1].port') && i.includes('required')));
});

t.test('egress bind / captureMode NONE: a listener bound to bind:port in the local mesh; warned under capture', async (t) => {
  const spec = sidecar(`  egress:
  - port: { number: 8080, protocol: HTTP, name: http }
    bind: 127.0.0.1
    hosts: ["./*"]
  - port: { number: 3306, protocol: TCP, name: tcp }
    captureMode: NONE
    hosts: ["./*"]
  - hosts: ["./*"]`);
  const { res, errors } = generate(spec);
  t.same(errors, []);
  const http = res.listeners.find((l) => l.name === '127.0.0.1_8080');
  t.ok(http, 'HTTP: 127.0.0.1_8080');
  t.match(JSON.stringify(http), /"route_config_name":"8080"/, 'on the port\'s route configuration');
  t.ok(res.routes.some((r) => r.name === '8080') && res.routes.some((r) => r.name === 'virtualOutbound'), 'route 8080 sent besides the forward proxy\'s');
  t.match(JSON.stringify(res.routes.find((r) => r.name === '8080')), /api\.shop\.svc\.cluster\.local/);
  const tcp = res.listeners.find((l) => l.name === '10.10.0.9_3306');
  t.match(JSON.stringify(tcp), /"cluster":"outbound\|3306\|\|db\.shop\.svc\.cluster\.local"/, 'TCP with captureMode NONE: the proxy\'s address, tcp_proxy to the only service');

  const cap = generate(spec, { captureMode: true });
  t.same(cap.errors, []);
  t.notOk(cap.res.listeners.some((l) => l.name === '127.0.0.1_8080'));
  t.ok(cap.res.warnings.some((w) => w.includes('egress[0]') && w.includes('does not apply under capture')), cap.res.warnings.join(' | '));
  t.ok(cap.res.warnings.some((w) => w.includes('egress[1]') && w.includes('captureMode NONE')));
});
