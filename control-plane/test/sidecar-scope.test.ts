/**
 * What a sidecar receives, scoped as Istio scopes it: VirtualService `tcp` routes (TCP traffic
 * shifting), `outboundTrafficPolicy` (ALLOW_ANY vs REGISTRY_ONLY's block_all), the Sidecar
 * resource's egress hosts and its precedence, and `exportTo` on every kind with the mesh's
 * defaults. Each result is compiled with the proxy's own compiler and read back from it.
 */
import t from 'tap';
import { matchRoute, selectVirtualHost, type RouteConfigRt } from '@minimesh/config';
import { buildMeshModel, generateForProxy, loadManifests, parseMeshConfig, proxyIdentity, type GenerateOptions } from '../src/index.js';
import { compileAll } from './helpers/compile.js';
import { generateFromYaml } from './helpers/generate-yaml.js';

const base = `
apiVersion: v1
kind: Service
metadata: { name: db, namespace: shop }
spec:
  clusterIP: 10.96.2.1
  selector: { app: db }
  ports: [{ name: tcp-db, port: 3306 }]
---
apiVersion: v1
kind: Service
metadata: { name: api, namespace: shop }
spec:
  clusterIP: 10.96.2.2
  selector: { app: api }
  ports: [{ name: http, port: 8080 }]
---
apiVersion: v1
kind: Service
metadata: { name: ledger, namespace: bank }
spec:
  clusterIP: 10.96.3.1
  selector: { app: ledger }
  ports: [{ name: http, port: 8080 }]
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
spec:
  clusterIP: 10.96.2.3
  selector: { app: web }
  ports: [{ name: http, port: 9080 }]
`;

const LOCAL: GenerateOptions = { outboundForwardProxy: true, bindProxyAddress: true };

function generate(extra: string, opts: GenerateOptions = {}, meshYaml = '', labels: Record<string, string> = { app: 'web' }) {
  const meshConfig = meshYaml === '' ? undefined : parseMeshConfig(meshYaml, 'mesh.yaml').config;
  const { res, issues } = generateFromYaml(base + '---\n' + extra, { labels, generate: opts, ...(meshConfig ? { meshConfig } : {}) });
  const compiled = compileAll(res);
  return { res, issues, compiled, clusters: res.clusters.map((c) => String(c.name)) };
}

function connectAction(rc: RouteConfigRt | undefined, authority: string) {
  const vh = selectVirtualHost(rc!, authority);
  if (vh === undefined) return undefined;
  const route = matchRoute(vh, { method: 'CONNECT', path: '', authority, headerNames: [], headerValues: [] });
  return route?.action;
}

function httpAction(rc: RouteConfigRt | undefined, authority: string) {
  const vh = selectVirtualHost(rc!, authority);
  if (vh === undefined) return undefined;
  return matchRoute(vh, { method: 'GET', path: '/', authority, headerNames: [], headerValues: [] });
}

const SUBSETS = `
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: db, namespace: shop }
spec:
  host: db
  subsets: [{ name: v1, labels: { version: v1 } }, { name: v2, labels: { version: v2 } }]
`;

const TCP_SHIFT = `${SUBSETS}---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: db, namespace: shop }
spec:
  hosts: [db]
  tcp:
  - match: [{ port: 3306 }]
    route:
    - destination: { host: db, subset: v1, port: { number: 3306 } }
      weight: 80
    - destination: { host: db, subset: v2, port: { number: 3306 } }
      weight: 20
`;

t.test('tcp routes: weighted destinations on the CONNECT route of the TCP port', async (t) => {
  const { res, issues, compiled } = generate(TCP_SHIFT, LOCAL);
  t.same(issues.filter((i) => i.kind === 'VirtualService'), [], 'tcp routes validate without warnings');
  t.same(compiled.errors, []);
  t.same(res.warnings, []);
  const action = connectAction(compiled.routes.get('virtualOutbound'), 'db.shop.svc.cluster.local:3306');
  t.ok(action && action.kind === 'forward');
  if (action?.kind !== 'forward') return;
  t.same(
    action.clusters.map((c) => [c.name, c.weight]),
    [
      ['outbound|3306|v1|db.shop.svc.cluster.local', 80],
      ['outbound|3306|v2|db.shop.svc.cluster.local', 20],
    ],
  );
});

t.test('tcp routes: a match on another port leaves the service cluster; one destination is a plain cluster', async (t) => {
  const other = generate(TCP_SHIFT.replace('port: 3306 }]', 'port: 3307 }]'), LOCAL);
  const a = connectAction(other.compiled.routes.get('virtualOutbound'), 'db.shop:3306');
  t.same(a?.kind === 'forward' ? a.clusters.map((c) => c.name) : [], ['outbound|3306||db.shop.svc.cluster.local']);
  const single = generate(`${SUBSETS}---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: db, namespace: shop }
spec:
  hosts: [db]
  tcp: [{ route: [{ destination: { host: db, subset: v2 } }] }]
`, LOCAL);
  t.same(single.compiled.errors, []);
  const b = connectAction(single.compiled.routes.get('virtualOutbound'), 'db.shop:3306');
  t.same(b?.kind === 'forward' ? b.clusters.map((c) => c.name) : [], ['outbound|3306|v2|db.shop.svc.cluster.local'], 'port inferred from the only service port');
});

t.test('tcp routes: invalid ones are errors naming the field', async (t) => {
  const { issues } = generate(`
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: db, namespace: shop }
spec:
  hosts: [db]
  tcp:
  - match: [{ port: 70000 }]
    route: [{ destination: { host: db }, weight: 50 }, { destination: { host: db }, wieght: 50 }]
`);
  const fields = issues.filter((i) => i.level === 'error').map((i) => i.field);
  t.ok(fields.includes('spec.tcp[0].match[0].port'), 'port out of range');
  t.ok(fields.includes('spec.tcp[0].route[1].wieght'), 'unknown field');
});

t.test('outboundTrafficPolicy: REGISTRY_ONLY gives block_all (502, CONNECT to BlackHoleCluster); ALLOW_ANY keeps allow_any', async (t) => {
  const allow = generate('', { passthroughCluster: true });
  t.ok((allow.res.routes.find((r) => r.name === '8080')!.virtual_hosts as { name: string }[]).some((v) => v.name === 'allow_any'));
  const blocked = generate('', { passthroughCluster: true }, 'outboundTrafficPolicy: { mode: REGISTRY_ONLY }\n');
  t.same(blocked.compiled.errors, []);
  const names = (blocked.res.routes.find((r) => r.name === '8080')!.virtual_hosts as { name: string }[]).map((v) => v.name);
  t.notOk(names.includes('allow_any'));
  t.equal(names[names.length - 1], 'block_all');
  const r = httpAction(blocked.compiled.routes.get('8080'), 'www.example.com');
  t.equal(r?.action.kind, 'direct');
  t.equal(r?.action.kind === 'direct' ? r.action.status : 0, 502);
  t.equal(r?.name, 'block_all');
  const known = httpAction(blocked.compiled.routes.get('8080'), 'api.shop:8080');
  t.equal(known?.action.kind, 'forward', 'a known service is still routed');

  const local = generate('', LOCAL, 'outboundTrafficPolicy:\n  mode: REGISTRY_ONLY\n');
  t.same(local.compiled.errors, []);
  const c = connectAction(local.compiled.routes.get('virtualOutbound'), 'unknown.example.com:5432');
  t.same(c?.kind === 'forward' ? c.clusters.map((x) => x.name) : [], ['BlackHoleCluster'], 'TCP tunnels to unknown hosts go nowhere');
  t.equal(connectAction(local.compiled.routes.get('virtualOutbound'), 'db.shop:3306')?.kind, 'forward');
});

t.test('outboundTrafficPolicy: the Sidecar overrides the mesh config', async (t) => {
  const { res } = generate(`
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: { name: default, namespace: shop }
spec: { outboundTrafficPolicy: { mode: ALLOW_ANY } }
`, { passthroughCluster: true }, 'outboundTrafficPolicy: { mode: REGISTRY_ONLY }\n');
  const names = (res.routes.find((r) => r.name === '8080')!.virtual_hosts as { name: string }[]).map((v) => v.name);
  t.ok(names.includes('allow_any'));
  t.notOk(names.includes('block_all'));
});

const hasLedger = (clusters: string[]): boolean => clusters.some((c) => c.includes('ledger.bank'));

t.test('Sidecar egress hosts scope clusters and routes; inbound stays', async (t) => {
  t.ok(hasLedger(generate('').clusters), 'without a Sidecar every service');
  const scoped = generate(`
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: { name: default, namespace: shop }
spec: { egress: [{ hosts: ["./*", "istio-system/*"] }] }
`);
  t.same(scoped.issues, []);
  t.same(scoped.compiled.errors, []);
  t.notOk(hasLedger(scoped.clusters), 'another namespace is scoped out');
  t.ok(scoped.clusters.includes('outbound|8080||api.shop.svc.cluster.local'), 'the own namespace stays');
  t.ok(scoped.clusters.includes('inbound|9080||'), 'inbound is not scoped');
  t.notOk(JSON.stringify(scoped.res.routes).includes('ledger'), 'no virtual host for it either');
  const one = generate(`
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: { name: default, namespace: shop }
spec: { egress: [{ hosts: ["bank/ledger.bank.svc.cluster.local"] }] }
`);
  t.ok(hasLedger(one.clusters));
  t.notOk(one.clusters.some((c) => c.includes('api.shop')), 'only the named host');
});

t.test('Sidecar precedence: workload selector, then namespace-wide, then the root namespace', async (t) => {
  const rootOnly = `
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: { name: default, namespace: istio-system }
spec: { egress: [{ hosts: ["./*"] }] }
`;
  t.notOk(hasLedger(generate(rootOnly).clusters), 'the root default applies, "." meaning the proxy\'s namespace');
  t.ok(generate(rootOnly).clusters.includes('outbound|8080||api.shop.svc.cluster.local'));
  const nsWide = `${rootOnly}---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: { name: default, namespace: shop }
spec: { egress: [{ hosts: ["*/*"] }] }
`;
  t.ok(hasLedger(generate(nsWide).clusters), 'the namespace-wide one beats the root');
  const workload = `${nsWide}---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: { name: web, namespace: shop }
spec: { workloadSelector: { labels: { app: web } }, egress: [{ hosts: ["~/*"] }] }
`;
  t.same(generate(workload).clusters.filter((c) => c.startsWith('outbound|')), [], 'the workload one beats both; "~" names nothing');
  t.ok(hasLedger(generate(workload, {}, '', { app: 'other' }).clusters), 'not selected: the namespace-wide one');
});

t.test('Sidecar validation: hosts must be namespace/dnsName', async (t) => {
  const { issues } = generate(`
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: { name: default, namespace: shop }
spec: { egress: [{ hosts: ["ledger.bank.svc.cluster.local", "bank/ledger"] }], outboundTrafficPolicy: { mode: DENY } }
`);
  t.match(issues.find((i) => i.field === 'spec.egress[0].hosts[0]'), { level: 'error', message: /namespace\/dnsName/ });
  t.match(issues.find((i) => i.field === 'spec.egress[0].hosts[1]'), { level: 'warning', message: /short name/ });
  t.match(issues.find((i) => i.field === 'spec.outboundTrafficPolicy.mode'), { level: 'error' });
});

t.test('exportTo: Service annotation, VirtualService, DestinationRule, and the mesh defaults', async (t) => {
  const privateSvc = generate('').clusters;
  t.ok(hasLedger(privateSvc));
  const annotated = base.replace('metadata: { name: ledger, namespace: bank }', 'metadata: { name: ledger, namespace: bank, annotations: { networking.istio.io/exportTo: "." } }');
  const load = (text: string, mesh = '') => {
    const { resources, issues } = loadManifests(text, 'x.yaml');
    const model = buildMeshModel(resources.map((r) => r.resource), mesh ? { meshConfig: parseMeshConfig(mesh, 'mesh.yaml').config } : {});
    const proxy = proxyIdentity('sidecar~10.10.0.9~web-1.shop~shop.svc.cluster.local', { LABELS: { app: 'web' } }, model);
    return { issues, clusters: generateForProxy(model, proxy).clusters.map((c) => String(c.name)) };
  };
  const a = load(annotated);
  t.same(a.issues, []);
  t.notOk(hasLedger(a.clusters), 'a Service exported to its own namespace only');
  t.ok(hasLedger(load(annotated.replace('exportTo: "."', 'exportTo: "bank,shop"')).clusters), 'named namespaces');
  t.notOk(hasLedger(load(base, 'defaultServiceExportTo: ["."]\n').clusters), 'the mesh default');
  t.ok(load(base, 'defaultServiceExportTo: ["."]\n').clusters.some((c) => c.includes('api.shop')), 'the own namespace still sees its own');
  t.ok(load(annotated.replace('exportTo: "."', 'exportTo: "*"'), 'defaultServiceExportTo: ["."]\n').clusters.some((c) => c.includes('ledger')), 'the annotation beats the default');

  const vs = `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: ledger, namespace: bank }
spec:
  hosts: [ledger.bank.svc.cluster.local]
  exportTo: [EXPORT]
  http: [{ route: [{ destination: { host: ledger.bank.svc.cluster.local } }], timeout: 7s }]
`;
  const routeText = (exp: string) => JSON.stringify(generate(vs.replace('EXPORT', exp)).res.routes);
  t.match(routeText('"*"'), /"timeout":"7s"/, 'exported everywhere: applied');
  t.notMatch(routeText('"."'), /"timeout":"7s"/, 'exported to bank only: not applied in shop');
  t.match(routeText('shop'), /"timeout":"7s"/);

  const dr = `
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: ledger, namespace: bank }
spec:
  host: ledger.bank.svc.cluster.local
  exportTo: [EXPORT]
  subsets: [{ name: v1, labels: { version: v1 } }]
`;
  t.ok(generate(dr.replace('EXPORT', '"*"')).clusters.includes('outbound|8080|v1|ledger.bank.svc.cluster.local'));
  t.notOk(generate(dr.replace('EXPORT', '"."')).clusters.includes('outbound|8080|v1|ledger.bank.svc.cluster.local'));
  const own = dr.replace('namespace: bank }', 'namespace: shop }').replace('EXPORT', 'bank');
  t.ok(generate(own).clusters.includes('outbound|8080|v1|ledger.bank.svc.cluster.local'), 'a DestinationRule applies in its own namespace whatever its exportTo');
  const bad = generate(dr.replace('EXPORT', '"~", shop'));
  t.match(bad.issues.find((i) => i.field === 'spec.exportTo'), { level: 'error' });
});

t.test('capture mode: REGISTRY_ONLY marks virtualOutbound registry_only and routes block_all; a tcp route names the cluster, or its weighted clusters', async (t) => {
  const { res, compiled } = generate(TCP_SHIFT.replace('weight: 20', 'weight: 0'), { captureMode: true }, 'outboundTrafficPolicy: { mode: REGISTRY_ONLY }\n');
  t.same(compiled.errors, []);
  const vo = res.listeners.find((l) => l.name === 'virtualOutbound') as { metadata: { filter_metadata: Record<string, Record<string, unknown>> } };
  const md = vo.metadata.filter_metadata['minimesh.capture']!;
  t.equal(md.registry_only, true);
  t.same(md.tcp_clusters, { '10.96.2.1:3306': 'outbound|3306|v1|db.shop.svc.cluster.local' }, 'the only destination of weight > 0');
  t.equal(httpAction(compiled.routes.get('virtualOutbound'), 'www.example.com')?.name, 'block_all');
  const allow = generate('', { captureMode: true });
  const amd = (allow.res.listeners.find((l) => l.name === 'virtualOutbound') as typeof vo).metadata.filter_metadata['minimesh.capture']!;
  t.equal(amd.registry_only, undefined, 'ALLOW_ANY: passthrough as before');
  const weighted = generate(TCP_SHIFT, { captureMode: true });
  t.same(weighted.compiled.errors, []);
  const wmd = (weighted.res.listeners.find((l) => l.name === 'virtualOutbound') as typeof vo).metadata.filter_metadata['minimesh.capture']!;
  t.same((wmd.tcp_clusters as Record<string, unknown>)['10.96.2.1:3306'], [
    { name: 'outbound|3306|v1|db.shop.svc.cluster.local', weight: 80 },
    { name: 'outbound|3306|v2|db.shop.svc.cluster.local', weight: 20 },
  ], 'weights under capture: one cluster per connection, by weight');
});

t.test('a route to a destination the Sidecar scopes out: an empty cluster (503), so the config still pushes', async (t) => {
  const { compileXdsSnapshot } = await import('@minimesh/config');
  const { snapshotResourcesFromJson, checkConsistency } = await import('@minimesh/xds');
  const { res, clusters } = generate(`
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: api, namespace: shop }
spec:
  hosts: [api]
  http: [{ route: [{ destination: { host: ledger.bank.svc.cluster.local } }] }]
---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: { name: default, namespace: shop }
spec: { egress: [{ hosts: ["./*"] }] }
`);
  const ledger = res.clusters.find((c) => c.name === 'outbound|8080||ledger.bank.svc.cluster.local');
  t.same(ledger, { name: 'outbound|8080||ledger.bank.svc.cluster.local', type: 'STATIC', connect_timeout: '10s', load_assignment: { cluster_name: 'outbound|8080||ledger.bank.svc.cluster.local' } }, 'sent empty');
  t.notOk(clusters.some((c) => c.includes('|v') && c.includes('ledger')));
  t.match(res.warnings.join('\n'), /ledger\.bank\.svc\.cluster\.local, which this proxy's Sidecar or exportTo leaves out/);
  const typed = snapshotResourcesFromJson(res);
  t.same(checkConsistency(typed), [], 'the snapshot is whole');
  const compiled = compileXdsSnapshot({ listeners: typed.listeners ?? [], routes: typed.routes ?? [], clusters: typed.clusters ?? [], endpoints: typed.endpoints ?? [] });
  t.ok(compiled.ok, compiled.ok ? 'compiles as the control plane pushes it' : JSON.stringify(compiled.errors));
});
