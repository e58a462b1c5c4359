/**
 * Istio's Telemetry resources through the real generator and the proxy's own compiler: which
 * listeners get `istio.stats`, with which metric overrides, from which scope (mesh, namespace,
 * workload), per mode; access logging; what is reported rather than honoured.
 */
import t from 'tap';
import path from 'node:path';
import { parse } from 'yaml';
import { formatIssue, type KubeResource } from '@minimesh/kube';
import { buildMeshModel, generateForProxy, loadManifests, proxyIdentity, type JsonObject } from '../src/index.js';
import { compileAll } from './helpers/compile.js';
import { makeDeploymentAddresses, makeResources, REPO_ROOT } from './helpers/fixtures.js';

const ECHO = ['namespace.yaml', 'backend.yaml', 'client.yaml'].map((f) => path.join(REPO_ROOT, 'examples/echo/k8s', f));

function generate(telemetryYaml: string, pod: { name: string; ip: string; labels: Record<string, string> }) {
  const { resources } = makeResources(ECHO);
  const loaded = loadManifests(telemetryYaml, 'telemetry.yaml');
  const issues = loaded.issues.map(formatIssue);
  const model = buildMeshModel([...resources, ...loaded.resources.map((r) => r.resource)] as KubeResource[], { deploymentAddress: makeDeploymentAddresses() });
  const proxy = proxyIdentity(`sidecar~${pod.ip}~${pod.name}.client~client.svc.cluster.local`, { LABELS: pod.labels }, model);
  return { res: generateForProxy(model, proxy), issues };
}

const ECHO_POD = { name: 'echo-deployment-0', ip: '10.1.0.1', labels: { app: 'echo' } };
const CLIENT_POD = { name: 'client-deployment-0', ip: '10.2.0.1', labels: { app: 'client' } };

type Hcm = { http_filters: { name: string; typed_config: { value?: { metrics?: JsonObject[]; disable_host_header_fallback?: boolean } } }[]; access_log?: JsonObject[] };
function hcms(listeners: JsonObject[]): { name: string; direction: string; hcm: Hcm }[] {
  return listeners.map((l) => {
    const fc = (l.filter_chains as { filters: { typed_config: Hcm }[] }[])[0];
    return { name: String(l.name), direction: String(l.traffic_direction), hcm: fc.filters[0].typed_config };
  });
}
const filterNames = (h: Hcm): string[] => h.http_filters.map((f) => f.name);
const statsOf = (h: Hcm) => h.http_filters.find((f) => f.name === 'istio.stats')?.typed_config.value;

t.test('no Telemetry: metadata exchange and stats on every listener, Istio\'s filter order', async (t) => {
  const { res } = generate('', ECHO_POD);
  const all = hcms(res.listeners);
  t.ok(all.some((l) => l.direction === 'INBOUND') && all.some((l) => l.direction === 'OUTBOUND'));
  for (const l of all) t.same(filterNames(l.hcm), ['istio.metadata_exchange', 'istio.stats', 'envoy.filters.http.router'], l.name);
  const inbound = all.find((l) => l.direction === 'INBOUND')!;
  t.equal(statsOf(inbound.hcm)?.disable_host_header_fallback, true, 'inbound: no Host header fallback');
  t.equal(statsOf(all.find((l) => l.direction === 'OUTBOUND')!.hcm)?.disable_host_header_fallback, false);
  t.same(compileAll(res).errors, [], 'the proxy compiles it');
});

t.test('mesh-wide ALL_METRICS disabled: no stats filter; a workload Telemetry turns REQUEST_COUNT back on', async (t) => {
  const mesh = `apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: mesh-default, namespace: istio-system}
spec:
  metrics:
  - providers: [{name: prometheus}]
    overrides: [{disabled: true}]
`;
  const off = generate(mesh, ECHO_POD);
  for (const l of hcms(off.res.listeners)) t.same(filterNames(l.hcm), ['istio.metadata_exchange', 'envoy.filters.http.router'], `${l.name}: metrics off`);
  const workload = `${mesh}---
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: echo-requests, namespace: client}
spec:
  selector: {matchLabels: {app: echo}}
  metrics:
  - overrides: [{match: {metric: REQUEST_COUNT, mode: SERVER}, disabled: false}]
`;
  const echo = generate(workload, ECHO_POD);
  const inbound = hcms(echo.res.listeners).find((l) => l.direction === 'INBOUND')!;
  const metrics = statsOf(inbound.hcm)?.metrics ?? [];
  t.ok(metrics.some((m) => m.name === 'request_duration_milliseconds' && m.drop === true), 'the rest stays dropped');
  t.notOk(metrics.some((m) => m.name === 'requests_total'), 'requests_total is on again');
  t.same(filterNames(hcms(echo.res.listeners).find((l) => l.direction === 'OUTBOUND')!.hcm), ['istio.metadata_exchange', 'envoy.filters.http.router'], 'CLIENT side still off');
  const client = generate(workload, CLIENT_POD);
  t.ok(hcms(client.res.listeners).every((l) => !filterNames(l.hcm).includes('istio.stats')), 'the selector does not pick the client');
  t.same(compileAll(echo.res).errors, []);
});

t.test('tagOverrides: REMOVE and UPSERT per mode; an expression minimesh cannot evaluate is reported', async (t) => {
  const yaml = `apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: tags, namespace: client}
spec:
  metrics:
  - providers: [{name: prometheus}]
    overrides:
    - match: {metric: REQUEST_COUNT, mode: CLIENT}
      tagOverrides:
        response_flags: {operation: REMOVE}
        request_host: {value: request.host}
        user: {value: "request.headers['x-user']"}
        odd: {value: "size(request.path) > 3"}
`;
  const { res } = generate(yaml, CLIENT_POD);
  const out = hcms(res.listeners).find((l) => l.direction === 'OUTBOUND')!;
  t.same(statsOf(out.hcm)?.metrics, [{ name: 'requests_total', dimensions: { request_host: 'request.host', user: "request.headers['x-user']" }, tags_to_remove: ['response_flags'] }]);
  const inbound = hcms(generate(yaml, ECHO_POD).res.listeners).find((l) => l.direction === 'INBOUND')!;
  t.equal(statsOf(inbound.hcm)?.metrics, undefined, 'SERVER side untouched');
  t.match(res.warnings.join('\n'), /Telemetry client\/tags spec\.metrics\[0\]\.overrides\[0\]\.tagOverrides\.odd\.value: expression "size\(request\.path\) > 3" is not supported by minimesh/);
  t.same(compileAll(res).errors, [], 'the proxy compiles the dimensions');
});

t.test('accessLogging: the envoy provider writes Istio\'s line to stdout; disabled at a narrower scope wins', async (t) => {
  const on = `apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: mesh-default, namespace: istio-system}
spec:
  accessLogging: [{providers: [{name: envoy}]}]
`;
  const { res } = generate(on, CLIENT_POD);
  for (const l of hcms(res.listeners)) {
    const al = l.hcm.access_log as { typed_config: { path: string; log_format: { text_format_source: { inline_string: string } } } }[] | undefined;
    t.equal(al?.[0].typed_config.path, '/dev/stdout', l.name);
    t.match(al?.[0].typed_config.log_format.text_format_source.inline_string, /^\[%START_TIME%\] "%REQ\(:METHOD\)% /);
  }
  t.same(compileAll(res).errors, []);
  const off = generate(`${on}---\napiVersion: telemetry.istio.io/v1\nkind: Telemetry\nmetadata: {name: quiet, namespace: client}\nspec:\n  accessLogging: [{disabled: true}]\n`, CLIENT_POD);
  t.ok(hcms(off.res.listeners).every((l) => l.hcm.access_log === undefined), 'namespace scope turns it off');
});

t.test('validation: errors name the field; what is not honoured is a warning naming it', async (t) => {
  const yaml = `apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: bad, namespace: client}
spec:
  tracing: [{randomSamplingPercentage: 100}]
  metrics:
  - providers: [{name: stackdriver}]
    reportingInterval: 10s
    overrides:
    - match: {metric: REQUEST_COUNTS, mode: BOTH}
      tagOverrides: {"bad-tag": {operation: DELETE}}
  accessLogging: [{filter: {expression: "response.code >= 400"}}]
`;
  const loaded = loadManifests(yaml, 'telemetry.yaml');
  const text = loaded.issues.map(formatIssue).join('\n');
  t.equal(loaded.resources.length, 0, 'the bad Telemetry is rejected');
  for (const want of [
    /spec\.metrics\[0\]\.overrides\[0\]\.match\.metric.*unknown metric "REQUEST_COUNTS"/,
    /spec\.metrics\[0\]\.overrides\[0\]\.match\.mode.*CLIENT, SERVER, CLIENT_AND_SERVER/,
    /tagOverrides\.bad-tag.*not a valid Prometheus label name/,
    /tagOverrides\.bad-tag\.operation.*UPSERT or REMOVE/,
    /spec\.tracing.*not translated by minimesh/,
    /spec\.metrics\[0\]\.providers\[0\]\.name.*"stackdriver" is not run by minimesh/,
    /spec\.metrics\[0\]\.reportingInterval.*not translated/,
    /spec\.accessLogging\[0\]\.filter.*not translated/,
  ]) t.match(text, want);
  t.ok(parse(yaml), 'valid YAML');
});

t.test('one Telemetry per scope, the oldest; reserved label names are refused', async (t) => {
  const two = `apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: first, namespace: client, creationTimestamp: "2026-01-01T00:00:00Z"}
spec:
  metrics: [{overrides: [{match: {metric: REQUEST_SIZE}, disabled: true}]}]
---
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: second, namespace: client, creationTimestamp: "2026-02-01T00:00:00Z"}
spec:
  metrics: [{overrides: [{match: {metric: RESPONSE_SIZE}, disabled: true}]}]
`;
  const out = hcms(generate(two, CLIENT_POD).res.listeners).find((l) => l.direction === 'OUTBOUND')!;
  t.same(statsOf(out.hcm)?.metrics, [{ name: 'request_bytes', drop: true }], 'only the oldest namespace-wide Telemetry applies');
  const le = loadManifests(`apiVersion: telemetry.istio.io/v1\nkind: Telemetry\nmetadata: {name: le, namespace: client}\nspec:\n  metrics: [{overrides: [{tagOverrides: {le: {value: "'x'"}}}]}]\n`, 't.yaml');
  t.match(le.issues.map(formatIssue).join('\n'), /tagOverrides\.le.*reserved/);
});

t.test('a namespace Telemetry naming another metrics provider turns the Prometheus metrics off there', async (t) => {
  const yaml = `apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: other-backend, namespace: client}
spec:
  metrics: [{providers: [{name: stackdriver}]}]
`;
  const { res } = generate(yaml, CLIENT_POD);
  for (const l of hcms(res.listeners)) t.notOk(filterNames(l.hcm).includes('istio.stats'), `${l.name}: no stats filter`);
});
