/**
 * The mesh config file, as istiod reads /etc/istio/config/mesh: what is honoured (access log
 * file and format, root namespace), what is reported (other keys, with their line), what a bad
 * file does (an error naming file and line; the defaults or the last good config serve), and
 * through the real generator and the proxy's compiler: every sidecar and gateway listener gets
 * the access log unless a Telemetry turns it off.
 */
import t from 'tap';
import path from 'node:path';
import { formatIssue, type KubeResource } from '@minimesh/kube';
import { buildMeshModel, DEFAULT_MESH_CONFIG, generateForProxy, loadManifests, MeshConfigError, parseMeshConfig, proxyIdentity, type JsonObject, type MeshConfig } from '../src/index.js';
import { ISTIO_ACCESS_LOG_FORMAT, ISTIO_JSON_ACCESS_LOG_FORMAT } from '../src/generate/build-telemetry.js';
import { compileAll } from './helpers/compile.js';
import { makeDeploymentAddresses, makeResources, REPO_ROOT } from './helpers/fixtures.js';

const FILE = '/etc/istio/config/mesh';

/** The `mesh` key `minimesh install --set profile=demo` writes into ConfigMap istio. */
export const DEMO_MESH = `accessLogFile: /dev/stdout
defaultConfig:
  discoveryAddress: istiod.istio-system.svc:15012
defaultProviders:
  metrics:
    - prometheus
enablePrometheusMerge: true
rootNamespace: istio-system
trustDomain: cluster.local
`;

t.test("the demo profile's mesh config: the access log, nothing reported", async (t) => {
  const { config, warnings } = parseMeshConfig(DEMO_MESH, FILE);
  t.same(config, { ...DEFAULT_MESH_CONFIG, accessLogFile: '/dev/stdout' });
  t.same(warnings, []);
  t.same(parseMeshConfig('', FILE), { config: DEFAULT_MESH_CONFIG, warnings: [] }, 'an empty file: the defaults');
  t.same(parseMeshConfig('# nothing\n', FILE).config, DEFAULT_MESH_CONFIG);
  t.same(parseMeshConfig('accessLogFile: ""\nrootNamespace: mesh-root\ntrustDomain: example.org\nh2UpgradePolicy: UPGRADE\n', FILE).config, { ...DEFAULT_MESH_CONFIG, rootNamespace: 'mesh-root', trustDomain: 'example.org', h2UpgradePolicy: 'UPGRADE' });
});

t.test('outboundTrafficPolicy.mode and the default exportTo of each kind', async (t) => {
  const { config, warnings } = parseMeshConfig('outboundTrafficPolicy:\n  mode: REGISTRY_ONLY\ndefaultServiceExportTo: ["."]\ndefaultVirtualServiceExportTo: ["*"]\ndefaultDestinationRuleExportTo: [".", istio-system]\n', FILE);
  t.same(warnings, []);
  t.equal(config.outboundTrafficPolicyMode, 'REGISTRY_ONLY');
  t.same(config.defaultServiceExportTo, ['.']);
  t.same(config.defaultVirtualServiceExportTo, ['*']);
  t.same(config.defaultDestinationRuleExportTo, ['.', 'istio-system']);
});

t.test('defaultConfig.concurrency: the injected sidecars\' workers', async (t) => {
  const { config, warnings } = parseMeshConfig('defaultConfig:\n  discoveryAddress: istiod.istio-system.svc:15012\n  concurrency: 4\n', FILE);
  t.same(warnings, []);
  t.equal(config.proxyConcurrency, 4);
  t.equal(parseMeshConfig('defaultConfig:\n  concurrency: 0\n', FILE).config.proxyConcurrency, 0, '0: one per core');
  t.equal(DEFAULT_MESH_CONFIG.proxyConcurrency, undefined, 'unset: the injector\'s default');
  t.throws(() => parseMeshConfig('defaultConfig:\n  concurrency: two\n', FILE), /mesh:2:3: defaultConfig.concurrency: expected a number of workers from 0 \(one per core\) to 128, got "two"/);
});

t.test('keys minimesh does not act on: one warning each, with its line', async (t) => {
  const text = `accessLogFile: /dev/stdout
outboundTrafficPolicy:
  egressProxy: { host: egress }
defaultConfig:
  discoveryAddress: istiod.istio-system.svc:15012
  holdApplicationUntilProxyStarts: true
defaultProviders:
  metrics: [stackdriver]
  accessLogging: [envoy]
enablePrometheusMerge: false
notAField: 1
`;
  const { config, warnings } = parseMeshConfig(text, FILE);
  t.equal(config.accessLogFile, '/dev/stdout', 'what is understood still applies');
  t.same(warnings, [
    `${FILE}:3:3: outboundTrafficPolicy.egressProxy: not supported by minimesh; ignored`,
    `${FILE}:6:3: defaultConfig.holdApplicationUntilProxyStarts: not supported by minimesh; ignored`,
    `${FILE}:8:3: defaultProviders.metrics: only prometheus is supported by minimesh; ignored`,
    `${FILE}:9:3: defaultProviders.accessLogging: not supported by minimesh; ignored`,
    `${FILE}:10:1: enablePrometheusMerge: minimesh proxies always merge metrics; ignored`,
    `${FILE}:11:1: notAField: not supported by minimesh; ignored`,
  ]);
});

t.test('what cannot be used: an error naming the file, line and field', async (t) => {
  const cases: [string, RegExp][] = [
    ['accessLogFile: /dev/stdout\ndefaultConfig:\n  discoveryAddress: [unclosed\n', new RegExp(`^${FILE}:\\d+:\\d+: not valid YAML: `)],
    ['accessLogFile: /dev/stdout\naccessLogFile: /tmp/x\n', new RegExp(`^${FILE}:2:1: not valid YAML: .*[Uu]nique`)],
    ['- a list\n', new RegExp(`^${FILE}:1:1: the mesh config must be a mapping`)],
    ['trustDomain: cluster.local\naccessLogFile: [a]\n', new RegExp(`^${FILE}:2:1: accessLogFile: expected a string, got \\["a"\\]`)],
    ['accessLogEncoding: XML\n', new RegExp(`^${FILE}:1:1: accessLogEncoding: expected TEXT or JSON`)],
    ['rootNamespace: Not_A_Namespace\n', new RegExp(`^${FILE}:1:1: rootNamespace: expected a namespace name`)],
    ['h2UpgradePolicy: ALWAYS\n', new RegExp(`^${FILE}:1:1: h2UpgradePolicy: expected DO_NOT_UPGRADE or UPGRADE`)],
    ['defaultConfig: 3\n', new RegExp(`^${FILE}:1:1: defaultConfig: expected a mapping`)],
    ['outboundTrafficPolicy: { mode: DENY }\n', new RegExp(`^${FILE}:1:26: outboundTrafficPolicy.mode: expected ALLOW_ANY or REGISTRY_ONLY`)],
    ['defaultServiceExportTo: [Bad_Ns]\n', new RegExp(`^${FILE}:1:1: defaultServiceExportTo: expected a list`)],
    ['accessLogEncoding: JSON\naccessLogFormat: "%START_TIME%"\n', new RegExp(`^${FILE}:2:1: accessLogFormat: expected a JSON object of strings`)],
  ];
  for (const [text, want] of cases) {
    let error: unknown;
    try {
      parseMeshConfig(text, FILE);
    } catch (e) {
      error = e;
    }
    t.ok(error instanceof MeshConfigError, `${JSON.stringify(text)}: a MeshConfigError`);
    t.match((error as Error | undefined)?.message, want);
  }
});

const ECHO = ['namespace.yaml', 'backend.yaml', 'client.yaml'].map((f) => path.join(REPO_ROOT, 'examples/echo/k8s', f));
const MICROSERVICES = ['namespace.yaml', 'customer.yaml', 'order.yaml', 'microservices-istio.yaml'].map((f) => path.join(REPO_ROOT, 'examples/microservices/k8s', f));
const SIDECAR = { id: 'sidecar~10.1.0.1~echo-deployment-0.client~client.svc.cluster.local', labels: { app: 'echo' }, inputs: ECHO };
const GATEWAY = { id: 'router~10.9.0.1~istio-ingressgateway-0.istio-system~istio-system.svc.cluster.local', labels: { app: 'istio-ingressgateway', istio: 'ingressgateway' }, inputs: MICROSERVICES };

function generate(meshText: string | undefined, extraYaml = '', proxy = SIDECAR) {
  const { resources } = makeResources(proxy.inputs);
  const loaded = loadManifests(extraYaml, 'extra.yaml');
  if (loaded.issues.length > 0) throw new Error(loaded.issues.map(formatIssue).join('\n'));
  const meshConfig: MeshConfig | undefined = meshText === undefined ? undefined : parseMeshConfig(meshText, FILE).config;
  const model = buildMeshModel([...resources, ...loaded.resources.map((r) => r.resource)] as KubeResource[], { deploymentAddress: makeDeploymentAddresses(), meshConfig });
  const res = generateForProxy(model, proxyIdentity(proxy.id, { LABELS: proxy.labels }, model));
  return { res, errors: compileAll(res).errors };
}

type AccessLog = { name: string; typed_config: { path: string; log_format: { text_format_source?: { inline_string: string }; json_format?: Record<string, string> } } };
/** Every HTTP connection manager of the listeners, with its access log. */
function hcms(listeners: JsonObject[]): { name: string; direction: string; accessLog: AccessLog[] | undefined }[] {
  const out: { name: string; direction: string; accessLog: AccessLog[] | undefined }[] = [];
  for (const l of listeners)
    for (const fc of (l.filter_chains as { filters: { name: string; typed_config: { access_log?: AccessLog[] } }[] }[]) ?? [])
      for (const f of fc.filters) if (f.name === 'envoy.filters.network.http_connection_manager') out.push({ name: String(l.name), direction: String(l.traffic_direction), accessLog: f.typed_config.access_log });
  return out;
}

t.test("accessLogFile: every sidecar and gateway listener logs Istio's line there; without it, none", async (t) => {
  const without = generate(undefined);
  t.same(hcms(without.res.listeners).map((h) => h.direction).sort(), ['INBOUND', 'OUTBOUND'], 'the sidecar has inbound and outbound HTTP listeners');
  t.ok(hcms(without.res.listeners).every((h) => h.accessLog === undefined), 'no mesh config: no access log');
  t.ok(hcms(generate('rootNamespace: istio-system\n').res.listeners).every((h) => h.accessLog === undefined), 'a mesh config without accessLogFile: none either');

  for (const proxy of [SIDECAR, GATEWAY]) {
    const on = generate(DEMO_MESH, '', proxy);
    const all = hcms(on.res.listeners);
    t.ok(all.length > 0, `${proxy.labels.app}: HTTP listeners`);
    for (const h of all) {
      t.equal(h.accessLog?.length, 1, `${proxy.labels.app} ${h.name}: one access log`);
      t.equal(h.accessLog?.[0]?.typed_config.path, '/dev/stdout');
      t.equal(h.accessLog?.[0]?.typed_config.log_format.text_format_source?.inline_string, ISTIO_ACCESS_LOG_FORMAT, "Istio's line");
    }
    t.same(on.errors, [], `${proxy.labels.app}: the proxy compiles it`);
  }
});

t.test('accessLogFormat and accessLogEncoding are carried', async (t) => {
  const text = generate('accessLogFile: /var/log/mesh.log\naccessLogFormat: "%REQ(:METHOD)% %RESPONSE_CODE%"\n');
  for (const h of hcms(text.res.listeners)) {
    t.equal(h.accessLog?.[0]?.typed_config.path, '/var/log/mesh.log');
    t.equal(h.accessLog?.[0]?.typed_config.log_format.text_format_source?.inline_string, '%REQ(:METHOD)% %RESPONSE_CODE%\n', 'a line ends with a newline');
  }
  t.same(text.errors, []);
  const json = generate('accessLogFile: /dev/stdout\naccessLogEncoding: JSON\n');
  for (const h of hcms(json.res.listeners)) t.same(h.accessLog?.[0]?.typed_config.log_format.json_format, ISTIO_JSON_ACCESS_LOG_FORMAT, "JSON: Istio's fields");
  t.same(json.errors, []);
  const custom = generate(`accessLogFile: /dev/stdout\naccessLogEncoding: JSON\naccessLogFormat: '{"code": "%RESPONSE_CODE%", "path": "%REQ(:PATH)%"}'\n`);
  for (const h of hcms(custom.res.listeners)) t.same(h.accessLog?.[0]?.typed_config.log_format.json_format, { code: '%RESPONSE_CODE%', path: '%REQ(:PATH)%' });
  t.same(custom.errors, []);
});

const TELEMETRY = (ns: string, spec: string) => `apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: logs, namespace: ${ns}}
spec:
${spec}
`;

t.test('a Telemetry that speaks of access logging wins over the mesh config', async (t) => {
  const off = generate(DEMO_MESH, TELEMETRY('client', '  accessLogging: [{disabled: true}]'));
  t.ok(hcms(off.res.listeners).every((h) => h.accessLog === undefined), 'disabled in the namespace: no access log');
  const meshWide = generate(DEMO_MESH, TELEMETRY('istio-system', '  accessLogging: [{disabled: true}]'));
  t.ok(hcms(meshWide.res.listeners).every((h) => h.accessLog === undefined), 'disabled mesh-wide: none either');
  const serverOnly = generate(DEMO_MESH, TELEMETRY('client', '  accessLogging: [{match: {mode: SERVER}, disabled: true}]'));
  t.same(
    hcms(serverOnly.res.listeners).map((h) => [h.direction, h.accessLog !== undefined]).sort(),
    [
      ['INBOUND', false],
      ['OUTBOUND', true],
    ],
    'off for SERVER only: the outbound listener keeps the mesh access log',
  );
  const metricsOnly = generate(DEMO_MESH, TELEMETRY('client', '  metrics: [{providers: [{name: prometheus}]}]'));
  t.ok(hcms(metricsOnly.res.listeners).every((h) => h.accessLog?.[0]?.typed_config.path === '/dev/stdout'), 'a Telemetry about metrics alone leaves the mesh access log');
  const telemetryOn = generate('accessLogFile: /var/log/mesh.log\n', TELEMETRY('client', '  accessLogging: [{providers: [{name: envoy}]}]'));
  t.ok(hcms(telemetryOn.res.listeners).every((h) => h.accessLog?.length === 1 && h.accessLog[0]!.typed_config.path === '/dev/stdout'), "enabled by a Telemetry: its provider's stdout log, once");
});

t.test('rootNamespace: where the mesh-wide Telemetry lives', async (t) => {
  const tel = TELEMETRY('mesh-root', '  accessLogging: [{providers: [{name: envoy}]}]');
  const ns = 'apiVersion: v1\nkind: Namespace\nmetadata: {name: mesh-root}\n---\n';
  t.ok(hcms(generate(undefined, ns + tel).res.listeners).every((h) => h.accessLog === undefined), 'istio-system is the root: mesh-root is just a namespace');
  t.ok(hcms(generate('rootNamespace: mesh-root\n', ns + tel).res.listeners).every((h) => h.accessLog !== undefined), 'rootNamespace: mesh-root makes it mesh-wide');
});
