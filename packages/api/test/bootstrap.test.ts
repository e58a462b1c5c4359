import t from 'tap';
import { createRequire } from 'node:module';
import {
  decodeResource,
  encodeResource,
  parseBootstrap,
  parseResource,
  PROTO_FILES,
  lookupType,
  TYPE_URL,
  unpackAny,
  packAny,
  type Cluster,
  type HttpConnectionManager,
} from '../src/index.js';

const HCM = TYPE_URL.HttpConnectionManager;

function bootstrapWith(routeYaml: string): string {
  return `
static_resources:
  listeners:
  - name: l
    address: { socket_address: { address: 0.0.0.0, port_value: 8080 } }
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": ${HCM}
          stat_prefix: x
          route_config:
            virtual_hosts:
            - name: v
              domains: ["*"]
${routeYaml}
`;
}

t.test('every TYPE_URL resolves to a loaded message type', async (t) => {
  // Names that differ from the message: the HTTP and network RBAC configs share one; Secret is TLS's.
  const alias: Record<string, string> = { HttpRbac: 'RBAC', NetworkRbac: 'RBAC', TlsSecret: 'Secret', HttpFault: 'HTTPFault' };
  for (const [name, url] of Object.entries(TYPE_URL)) t.equal(lookupType(url).name, alias[name] ?? name, url);
  t.throws(() => lookupType('type.googleapis.com/envoy.nope.Thing'));
});

t.test('gen-types script and the runtime load the same proto files', async (t) => {
  const require = createRequire(import.meta.url);
  const script = require.resolve('../../scripts/gen-types.mjs');
  const mod = (await import(script)) as { FILES: string[] };
  t.same(mod.FILES, [...PROTO_FILES]);
});

t.test('parses a bootstrap with nested Any, durations, snake and camel case', async (t) => {
  const ok = parseBootstrap(bootstrapWith('              routes: [{ match: { prefix: / }, route: { cluster: a, timeout: 3s } }]'), 'b.yaml');
  t.ok(ok.ok);
  if (!ok.ok) return;
  const f = ok.value.static_resources!.listeners![0].filter_chains![0].filters![0];
  t.equal(f.typed_config!.type_url, HCM);
  const hcm = unpackAny<HttpConnectionManager>(f.typed_config!);
  t.equal(hcm.stat_prefix, 'x');
  const route = hcm.route_config!.virtual_hosts![0].routes![0];
  t.equal(route.action, 'route', 'oneof virtual field names the member set');
  t.same(route.route!.timeout, { seconds: '3' }, 'durations decoded, longs as strings');

  const camel = parseResource<Cluster>(TYPE_URL.Cluster, 'name: a\nconnectTimeout: 2s\nlbPolicy: LEAST_REQUEST\n', 'c.yaml');
  t.ok(camel.ok);
  if (camel.ok) {
    t.same(camel.value.connect_timeout, { seconds: '2' });
    t.equal(camel.value.lb_policy, 'LEAST_REQUEST', 'enums as strings');
  }
});

t.test('unknown fields are reported with their full path, inside Anys too', async (t) => {
  const r = parseBootstrap(bootstrapWith('              routez: []\n              routes: [{ match: { prefix: /, bogus: 1 }, route: { cluster: a } }]'), 'b.yaml');
  t.notOk(r.ok);
  if (r.ok) return;
  t.same(
    r.errors.map((e) => `${e.path}: ${e.message}`),
    [
      'static_resources.listeners[0].filter_chains[0].filters[0].typed_config.route_config.virtual_hosts[0].routez: unknown field',
      'static_resources.listeners[0].filter_chains[0].filters[0].typed_config.route_config.virtual_hosts[0].routes[0].match.bogus: unknown field',
    ],
  );
});

t.test('type errors, bad enums, bad durations, two oneof members, unknown @type', async (t) => {
  const cases: [string, string, RegExp][] = [
    ['port as text', 'name: a\nload_assignment: { endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { port_value: eighty } } } }] }] }', /load_assignment\.endpoints\[0\]\.lb_endpoints\[0\]\.endpoint\.address\.socket_address\.port_value: expected/],
    ['bad enum', 'name: a\ntype: STATICKY', /^type: invalid value "STATICKY"/],
    ['bad duration', 'name: a\nconnect_timeout: 5', /^connect_timeout: expected a string/],
    ['duration without unit', 'name: a\nconnect_timeout: "5"', /^connect_timeout: invalid duration/],
    ['two oneof members', 'name: a\ntype: STATIC\ncluster_type: { name: x }', /^cluster_type: only one of/],
    ['list expected', 'name: a\nhealth_checks: {}', /^health_checks: expected a list/],
    ['unknown Any type', 'name: a\ntyped_extension_protocol_options: { x: { "@type": type.googleapis.com/no.Such } }', /typed_extension_protocol_options\.x\.@type: unknown or unsupported type/],
  ];
  for (const [name, yaml, re] of cases) {
    const r = parseResource(TYPE_URL.Cluster, yaml, 'c.yaml');
    t.notOk(r.ok, name);
    if (!r.ok) t.match(`${r.errors[0].path}: ${r.errors[0].message}`, re, name);
  }
});

t.test('YAML syntax errors carry the line number', async (t) => {
  const r = parseBootstrap('node:\n  id: a\n  cluster: [unclosed\n', 'bad.yaml');
  t.notOk(r.ok);
  if (!r.ok) t.match(r.errors[0].path, /^bad\.yaml:\d+:\d+$/);
  const dup = parseBootstrap('node: {}\nnode: {}\n', 'dup.yaml');
  t.notOk(dup.ok, 'duplicate keys are an error');
  if (!dup.ok) t.match(dup.errors[0].path, /^dup\.yaml:2:/);
});

t.test('JSON input works', async (t) => {
  const r = parseBootstrap(JSON.stringify({ node: { id: 'j', userAgentName: 'x' } }), 'b.json');
  t.ok(r.ok);
  if (r.ok) t.same(r.value.node, { id: 'j', user_agent_name: 'x' });
});

t.test('encodeResource / decodeResource / packAny round-trip', async (t) => {
  const c = { name: 'a', type: 'STRICT_DNS', connect_timeout: { seconds: '1', nanos: 5 } };
  const bytes = encodeResource(TYPE_URL.Cluster, c);
  const back = decodeResource<Cluster>(TYPE_URL.Cluster, bytes);
  t.equal(back.name, 'a');
  t.equal(back.type, 'STRICT_DNS');
  t.same(back.connect_timeout, { seconds: '1', nanos: 5 });
  const any = packAny(TYPE_URL.Cluster, c);
  t.equal(unpackAny<Cluster>(any).name, 'a');
  t.throws(() => unpackAny({ type_url: 'type.googleapis.com/x.Y', value: Buffer.alloc(0) }));
});

t.test('the JSON descriptor written at build time holds the same types as the .proto files', async (t) => {
  const { loadProtoFiles, protoRoot, DESCRIPTOR_FILE } = await import('../src/protos.js');
  const fs = await import('node:fs');
  t.ok(fs.existsSync(DESCRIPTOR_FILE), 'descriptor exists after the build');
  const fromProto = loadProtoFiles();
  const fromJson = protoRoot();
  for (const name of ['envoy.config.bootstrap.v3.Bootstrap', 'envoy.config.route.v3.RouteAction', 'envoy.config.cluster.v3.Cluster', 'envoy.service.discovery.v3.DiscoveryResponse']) {
    const a = fromProto.lookupType(name);
    const b = fromJson.lookupType(name);
    t.same(Object.keys(b.fields).sort(), Object.keys(a.fields).sort(), `${name}: same fields`);
  }
});
