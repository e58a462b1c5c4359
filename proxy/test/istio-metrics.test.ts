/**
 * Istio's standard metrics and HTTP metadata exchange, through two real proxies: a client
 * sidecar (OUTBOUND, reporter="source") in front of a server sidecar (INBOUND,
 * reporter="destination") in front of an app. The exposition text of one request is compared
 * with a golden (durations masked); the exchange headers never reach the app or the client.
 */
import t from 'tap';
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ok, route, startTestProxy, startUpstream, type ProxySpec, type TestProxy } from './helpers/harness.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const GOLDEN = path.resolve(here, '../../test/golden/istio-metrics-one-request.txt');
const refresh = process.env.REFRESH_GOLDEN === '1';

const TYPED_STRUCT = 'type.googleapis.com/udpa.type.v1.TypedStruct';
const ROUTER = { name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } };
const mx = (side: 'upstream' | 'downstream') => ({
  name: 'istio.metadata_exchange',
  typed_config: { '@type': TYPED_STRUCT, type_url: 'type.googleapis.com/io.istio.http.peer_metadata.Config', value: { [`${side}_discovery`]: [{ istio_headers: {} }], [`${side}_propagation`]: [{ istio_headers: {} }] } },
});
const stats = (value: Record<string, unknown> = {}) => ({ name: 'istio.stats', typed_config: { '@type': TYPED_STRUCT, type_url: 'type.googleapis.com/stats.PluginConfig', value } });
const services = (host: string) => ({ filter_metadata: { istio: { services: [{ host, name: host.split('.')[0], namespace: host.split('.')[1] }] } } });

function node(pod: string, ns: string, workload: string, labels: Record<string, string>): Record<string, unknown> {
  return {
    id: `sidecar~127.0.0.1~${pod}.${ns}~${ns}.svc.cluster.local`,
    cluster: `${workload}.${ns}`,
    metadata: { NAME: pod, NAMESPACE: ns, WORKLOAD_NAME: workload, CLUSTER_ID: 'Kubernetes', OWNER: `kubernetes://apis/apps/v1/namespaces/${ns}/deployments/${workload}`, LABELS: labels },
  };
}

const ECHO_HOST = 'echo-service.client.svc.cluster.local';

function serverSpec(appPort: number, filters: unknown[]): ProxySpec {
  return {
    node: node('echo-deployment-7d9f-abcde', 'client', 'echo-deployment', { app: 'echo', version: 'v1' }),
    listener: { traffic_direction: 'INBOUND' },
    hcm: { http_filters: filters, server_name: 'istio-envoy' },
    routes: [route('/', 'inbound|5678||')],
    clusters: { 'inbound|5678||': { endpoints: [appPort], extra: { metadata: services(ECHO_HOST) } } },
  };
}

function clientSpec(serverPort: number, filters: unknown[], endpointWorkload?: string): ProxySpec {
  const cluster = `outbound|80||${ECHO_HOST}`;
  return {
    node: node('client-deployment-5c4f-fghij', 'client', 'client-deployment', { app: 'client' }),
    listener: { traffic_direction: 'OUTBOUND' },
    hcm: { http_filters: filters },
    routes: [route('/', cluster)],
    clusters: {
      [cluster]: {
        endpoints: [serverPort],
        extra: {
          metadata: services(ECHO_HOST),
          ...(endpointWorkload
            ? { load_assignment: { cluster_name: cluster, endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: serverPort } } }, metadata: { filter_metadata: { istio: { workload: endpointWorkload } } } }] }] } }
            : {}),
        },
      },
    },
  };
}

async function scrape(p: TestProxy): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${p.adminPort}/stats/prometheus`);
  return (await res.text()).split('\n').filter((l) => l.startsWith('istio_') || l.startsWith('# TYPE istio_')).join('\n');
}

/**
 * Durations vary from run to run, and so does a response's size by a digit or two
 * (`x-envoy-upstream-service-time`): their bucket counts and sums are masked (counts are kept).
 */
function maskDurations(text: string): string {
  return text
    .split('\n')
    .map((l) => (/^istio_(request_duration_milliseconds|response_bytes)_(bucket\{.*le="(?!\+Inf)|sum)/.test(l) ? l.replace(/ [\d.e+-]+$/, ' <masked>') : l))
    .join('\n');
}

t.test('one request through two sidecars: both reporters, every label, Istio\'s exposition', async (t) => {
  const app = await startUpstream(t, ok('Hello from backend service'));
  const server = await startTestProxy(t, serverSpec(app.port, [mx('downstream'), stats({ disable_host_header_fallback: true }), ROUTER]));
  const client = await startTestProxy(t, clientSpec(server.port, [mx('upstream'), stats(), ROUTER]));
  const r = await client.request({ path: '/', headers: { host: ECHO_HOST, 'user-agent': 'golden', 'x-request-id': '00000000-0000-4000-8000-000000000000' } });
  t.equal(r.status, 200);
  t.notOk('x-envoy-peer-metadata' in r.headers, 'the client never sees the server\'s metadata');
  t.notOk('x-envoy-peer-metadata-id' in r.headers);
  t.notOk('x-envoy-peer-metadata' in app.requests[0].headers, 'the app never sees the client\'s metadata');
  t.notOk('x-envoy-peer-metadata-id' in app.requests[0].headers);
  const text = `# client sidecar\n${maskDurations(await scrape(client))}\n# server sidecar\n${maskDurations(await scrape(server))}\n`;
  if (refresh || !existsSync(GOLDEN)) writeFileSync(GOLDEN, text);
  t.equal(text, readFileSync(GOLDEN, 'utf8'), `matches ${path.relative(process.cwd(), GOLDEN)} (REFRESH_GOLDEN=1 to rewrite)`);
  t.match(text, /istio_request_duration_milliseconds_bucket\{reporter="source".*le="\+Inf"\} 1\n/, 'one duration sample on the client');
});

t.test('without an answer from the server, the client fills destination_* from endpoint metadata', async (t) => {
  const app = await startUpstream(t, ok('plain'));
  const client = await startTestProxy(t, clientSpec(app.port, [mx('upstream'), stats(), ROUTER], 'echo-deployment;client;echo;v7;Kubernetes'));
  await client.request({ path: '/', headers: { host: ECHO_HOST } });
  t.ok(app.requests[0].headers['x-envoy-peer-metadata'], 'the client sidecar sends its metadata upstream');
  t.match(app.requests[0].headers['x-envoy-peer-metadata-id'], /^sidecar~127\.0\.0\.1~client-deployment-5c4f-fghij\.client~/);
  const text = await scrape(client);
  t.match(text, /istio_requests_total\{reporter="source",source_workload="client-deployment",.*destination_workload="echo-deployment",destination_workload_namespace="client",destination_principal="unknown",destination_app="unknown",destination_version="unknown",destination_service="echo-service\.client\.svc\.cluster\.local",destination_canonical_service="echo",destination_canonical_revision="v7",.*destination_cluster="Kubernetes",.*response_code="200".*\} 1/);
});

t.test('an unknown peer: every peer label unknown, canonical revision latest; no response: code 0 and the flag', async (t) => {
  const app = await startUpstream(t, ok('x'));
  const server = await startTestProxy(t, serverSpec(app.port, [mx('downstream'), stats(), ROUTER]));
  await server.request({ path: '/', headers: { host: 'echo' } });
  let text = await scrape(server);
  t.match(text, /istio_requests_total\{reporter="destination",source_workload="unknown",source_canonical_service="unknown",source_canonical_revision="latest",source_workload_namespace="unknown",source_principal="unknown",source_app="unknown",source_version="unknown",source_cluster="unknown",destination_workload="echo-deployment",/);
  t.match(text, /connection_security_policy="none"\} 1/, 'a server without mTLS says none');
  // A connection refused: 503 UF on the client, no upstream workload known.
  const dead = await startTestProxy(t, clientSpec(1, [mx('upstream'), stats(), ROUTER]));
  const r = await dead.request({ path: '/', headers: { host: ECHO_HOST } });
  t.equal(r.status, 503);
  text = await scrape(dead);
  t.match(text, /destination_workload="unknown".*response_code="503",grpc_response_status="",response_flags="UF",connection_security_policy="unknown"\} 1/);
});

t.test('a malformed peer header counts as an unknown peer and never reaches the app', async (t) => {
  const app = await startUpstream(t, ok('x'));
  const server = await startTestProxy(t, serverSpec(app.port, [mx('downstream'), stats(), ROUTER]));
  const r = await server.request({ path: '/', headers: { host: 'echo', 'x-envoy-peer-metadata': '!!!not-base64-or-protobuf', 'x-envoy-peer-metadata-id': 'x' } });
  t.equal(r.status, 200);
  t.notOk('x-envoy-peer-metadata' in app.requests[0].headers);
  t.ok(r.headers['x-envoy-peer-metadata'], 'asked, the server answers with its own metadata');
  t.match(await scrape(server), /source_workload="unknown"/);
});

t.test('Telemetry overrides: a removed tag merges series, an added tag is computed per request, a dropped metric is gone', async (t) => {
  const app = await startUpstream(t, (req, res) => res.send(req.path === '/missing' ? 404 : 200, {}, 'x'));
  const overrides = stats({
    metrics: [
      { name: 'requests_total', tags_to_remove: ['response_code'], dimensions: { request_method: 'request.method', team: "'payments'" } },
      { name: 'request_bytes', drop: true },
    ],
  });
  const server = await startTestProxy(t, serverSpec(app.port, [mx('downstream'), overrides, ROUTER]));
  await server.request({ path: '/', headers: { host: 'echo' } });
  await server.request({ path: '/missing', headers: { host: 'echo' } });
  await server.request({ path: '/', method: 'POST', body: 'b', headers: { host: 'echo' } });
  const text = await scrape(server);
  const rq = text.split('\n').filter((l) => l.startsWith('istio_requests_total{'));
  t.equal(rq.length, 2, 'GET 200 and GET 404 merge without response_code; POST is its own series');
  t.ok(rq.every((l) => !l.includes('response_code=') && l.includes('team="payments"')), 'response_code removed, team added');
  t.ok(rq.some((l) => l.includes('request_method="GET"') && l.endsWith(' 2')));
  t.ok(rq.some((l) => l.includes('request_method="POST"') && l.endsWith(' 1')));
  t.notMatch(text, /istio_request_bytes/, 'request_bytes dropped');
  t.match(text, /istio_response_bytes_count\{.*response_code="404".*\} 1/, 'other metrics keep their labels');
});

t.test('a plain Envoy config records no Istio metric', async (t) => {
  const app = await startUpstream(t, ok('x'));
  const p = await startTestProxy(t, { routes: [route('/', 'c')], clusters: { c: [app.port] } });
  await p.request();
  const res = await fetch(`http://127.0.0.1:${p.adminPort}/stats/prometheus`);
  const text = await res.text();
  t.notMatch(text, /istio_/, 'no istio_* series, not even istio_build');
  t.match(text, /envoy_cluster_upstream_rq_total\{envoy_cluster_name="c"\} 1/);
});

t.test('a server sidecar\'s local reply (app down: 503 UF) still answers the exchange: both sides know the peer', async (t) => {
  const server = await startTestProxy(t, serverSpec(1, [mx('downstream'), stats(), ROUTER]));
  const client = await startTestProxy(t, clientSpec(server.port, [mx('upstream'), stats(), ROUTER]));
  const r = await client.request({ path: '/', headers: { host: ECHO_HOST } });
  t.equal(r.status, 503);
  t.notOk('x-envoy-peer-metadata' in r.headers, 'stripped before the client app');
  t.match(await scrape(server), /reporter="destination",source_workload="client-deployment",.*response_code="503",grpc_response_status="",response_flags="UF"/, 'the server knows its caller');
  t.match(await scrape(client), /reporter="source",.*destination_workload="echo-deployment",.*destination_app="echo",destination_version="v1",.*response_code="503"/, 'the client learns who failed from the reply');
});

t.test('two metrics may add the same tag with different expressions', async (t) => {
  const app = await startUpstream(t, ok('x'));
  const overrides = stats({
    metrics: [
      { name: 'requests_total', dimensions: { via: 'request.method', host_tag: 'request.host', user: "request.headers['x-user']", path_tag: 'request.url_path' } },
      { name: 'response_bytes', dimensions: { via: "'literal'" } },
    ],
  });
  const server = await startTestProxy(t, serverSpec(app.port, [mx('downstream'), overrides, ROUTER]));
  await server.request({ path: '/a?q=1', headers: { host: 'echo', 'x-user': 'ada' } });
  const text = await scrape(server);
  t.match(text, /istio_requests_total\{[^}]*via="GET",host_tag="echo",user="ada",path_tag="\/a"\} 1/, 'method, host, a header and the path without its query');
  t.match(text, /istio_response_bytes_count\{[^}]*via="literal"\} 1/);
});

t.test('label sets stay bounded when clients invent peers and hosts', async (t) => {
  const { IstioMetrics, MAX_EDGES } = await import('../src/observability/istio/istio-metrics.js');
  const { UNKNOWN_PEER } = await import('../src/observability/istio/workload-peer.js');
  const m = new IstioMetrics('test');
  const scope = m.httpScope({ reporter: 'source', disableHostHeaderFallback: false, metrics: new Map(), dimensionTags: [], dimensionExprs: [] });
  for (let i = 0; i < MAX_EDGES + 500; i++) scope.edge(UNKNOWN_PEER, undefined, `host-${i}.example`);
  t.ok(m.httpEdges.size <= MAX_EDGES + 1, `${m.httpEdges.size} series at most (cap ${MAX_EDGES}, then one overflow edge)`);
  t.ok(m.peers.get('not a struct') === UNKNOWN_PEER);
});
