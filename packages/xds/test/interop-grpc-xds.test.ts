/**
 * Interop: a real xDS v3 client written by someone else follows minimesh's ADS server.
 *
 * The client is gRPC's own proxyless xDS client for Node (@grpc/grpc-js-xds): a channel to
 * `xds:///echo.test:50051` subscribes over ADS to the Listener of that name (an api_listener
 * whose HttpConnectionManager uses RDS over ADS), then the RouteConfiguration, the EDS Cluster
 * and its ClusterLoadAssignment, and sends its RPCs to the endpoints it was given. We check
 * that calls reach the upstream, that the client ACKed every type (syncStatus), and that it
 * follows a push moving the endpoints to a second upstream.
 *
 * grpc-js-xds keeps global state (its bootstrap and XdsClient are process-wide); tap runs
 * each test file in its own process, so one channel per file is enough isolation.
 */
import t from 'tap';
import * as grpc from '@grpc/grpc-js';
import { register as registerXds } from '@grpc/grpc-js-xds';
import { packAny, TYPE_URL, type Cluster, type ClusterLoadAssignment, type Listener, type RouteConfiguration } from '@minimesh/api';
import { SnapshotCache } from '../src/server/snapshot-cache.js';
import { XdsServer } from '../src/server/xds-server.js';
import { syncState } from '../src/server/sync-status.js';
import { CDS, EDS, LDS, RDS } from '../src/type-urls.js';
import type { SnapshotInput } from '../src/server/snapshot.js';

const NODE = 'sidecar~127.0.0.1~echo-client.default~default.svc.cluster.local';
const TARGET = 'echo.test:50051';
const CLUSTER = 'echo-cluster';
const ROUTE = 'echo-route';

/** A tiny unary service with JSON on the wire: no .proto needed. */
const ECHO_PATH = '/minimesh.test.Echo/Echo';
const toJson = (v: unknown) => Buffer.from(JSON.stringify(v));
const fromJson = (b: Buffer) => JSON.parse(b.toString()) as { from?: string; msg?: string };
const ECHO_SERVICE: grpc.ServiceDefinition = {
  Echo: {
    path: ECHO_PATH,
    requestStream: false,
    responseStream: false,
    requestSerialize: toJson,
    requestDeserialize: fromJson,
    responseSerialize: toJson,
    responseDeserialize: fromJson,
  },
};

async function startEcho(name: string): Promise<{ port: number; server: grpc.Server }> {
  const server = new grpc.Server();
  server.addService(ECHO_SERVICE, {
    Echo: (call: grpc.ServerUnaryCall<{ msg?: string }, unknown>, cb: grpc.sendUnaryData<unknown>) => cb(null, { from: name, msg: call.request.msg }),
  });
  const port = await new Promise<number>((res, rej) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? rej(err) : res(p))),
  );
  return { port, server };
}

/** What minimesh would send a proxyless gRPC client: Envoy v3 objects in minimesh's plain-object form. */
function snapshot(version: string, upstreamPort: number, withLocality = true): SnapshotInput {
  const hcm = packAny(TYPE_URL.HttpConnectionManager, {
    stat_prefix: TARGET,
    rds: { route_config_name: ROUTE, config_source: { ads: {}, resource_api_version: 'V3' } },
    http_filters: [{ name: 'envoy.filters.http.router', typed_config: packAny(TYPE_URL.Router, {}) }],
  });
  const listener = { name: TARGET, api_listener: { api_listener: hcm } } as unknown as Listener;
  const route = {
    name: ROUTE,
    virtual_hosts: [{ name: 'echo', domains: ['*'], routes: [{ match: { prefix: '' }, route: { cluster: CLUSTER } }] }],
  } as unknown as RouteConfiguration;
  const cluster = {
    name: CLUSTER,
    type: 'EDS',
    connect_timeout: { seconds: 1 },
    lb_policy: 'ROUND_ROBIN',
    eds_cluster_config: { eds_config: { ads: {}, resource_api_version: 'V3' } },
  } as unknown as Cluster;
  const assignment = {
    cluster_name: CLUSTER,
    endpoints: [
      {
        // gRPC (gRFC A27) NACKs an assignment whose locality is unset ("endpoints[0].locality
        // unset") and ignores a locality without a weight; Envoy needs neither.
        ...(withLocality ? { locality: {}, load_balancing_weight: { value: 1 } } : {}),
        lb_endpoints: [
          { endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: upstreamPort } } }, health_status: 'HEALTHY', load_balancing_weight: { value: 1 } },
        ],
      },
    ],
  } as unknown as ClusterLoadAssignment;
  return { version, listeners: [listener], routes: [route], clusters: [cluster], endpoints: [assignment] };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

t.test('grpc-js-xds follows minimesh: LDS (api_listener) -> RDS -> CDS -> EDS, ACKs, and an EDS push', async (t) => {
  const cache = new SnapshotCache();
  const xds = new XdsServer({ cache });
  const xdsPort = await xds.listen('127.0.0.1', 0);
  const a = await startEcho('server-a');
  const b = await startEcho('server-b');

  // The bootstrap is read when the first xds: channel resolves, so the port can be set now.
  process.env.GRPC_XDS_BOOTSTRAP_CONFIG = JSON.stringify({
    xds_servers: [{ server_uri: `127.0.0.1:${xdsPort}`, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
    node: { id: NODE, cluster: 'echo-client.default', locality: {} },
  });
  registerXds();
  cache.setSnapshot(NODE, snapshot('v1', a.port));

  const client = new grpc.Client(`xds:///${TARGET}`, grpc.credentials.createInsecure());
  t.teardown(async () => {
    client.close();
    a.server.forceShutdown();
    b.server.forceShutdown();
    await xds.close(200);
  });
  const call = (msg: string) =>
    new Promise<{ from?: string; msg?: string }>((res, rej) => {
      const deadline = new Date(Date.now() + 3000);
      client.makeUnaryRequest(ECHO_PATH, toJson, fromJson, { msg }, new grpc.Metadata({ waitForReady: true }), { deadline }, (err, v) => (err ? rej(err) : res(v!)));
    });
  const status = () => xds.syncStatus().find((s) => s.nodeId === NODE);
  const waitFor = async (what: string, ok: () => boolean, ms = 3000) => {
    const end = Date.now() + ms;
    while (!ok()) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(status()?.types)}`);
      await sleep(20);
    }
  };

  // 1. The first call resolves through LDS -> RDS -> CDS -> EDS and reaches server A.
  const first = await call('hello');
  t.same(first, { from: 'server-a', msg: 'hello' }, 'the xds: channel reached the gRPC server minimesh pointed it at');

  // 2. minimesh's side: every type sent was ACKed at v1, no NACK.
  await waitFor('ACKs of v1', () => [LDS, RDS, CDS, EDS].every((ty) => syncState(status()?.types[ty]) === 'SYNCED'));
  const st = status()!;
  for (const ty of [LDS, RDS, CDS, EDS] as const) {
    const ts = st.types[ty]!;
    t.equal(ts.sentVersion, 'v1', `${ts.type} sent v1`);
    t.equal(ts.ackedVersion, 'v1', `${ts.type} ACKed v1`);
    t.equal(ts.lastNack, undefined, `${ts.type} never NACKed`);
  }
  t.same(st.types[LDS]!.resourceNames, [TARGET], 'LDS asked for the target by name');
  t.same(st.types[RDS]!.resourceNames, [ROUTE], 'RDS asked for the route named in the HCM');
  t.same(st.types[CDS]!.resourceNames, [CLUSTER], 'CDS asked for the routed cluster');
  t.same(st.types[EDS]!.resourceNames, [CLUSTER], 'EDS asked for the cluster\'s assignment');

  // 3. A push: only the endpoints change (server B). New calls follow, and v2 is ACKed.
  cache.setSnapshot(NODE, snapshot('v2', b.port));
  const end = Date.now() + 5000;
  let last: { from?: string } = first;
  while (last.from !== 'server-b' && Date.now() < end) {
    last = await call('again');
    if (last.from !== 'server-b') await sleep(50);
  }
  t.equal(last.from, 'server-b', 'after the EDS push, calls reach the second server');
  for (let i = 0; i < 3; i++) t.equal((await call(`n${i}`)).from, 'server-b', 'and stay there');
  await waitFor('ACK of EDS v2', () => syncState(status()?.types[EDS]) === 'SYNCED' && status()?.types[EDS]?.ackedVersion === 'v2');
  const st2 = status()!;
  t.equal(st2.types[EDS]!.ackedVersion, 'v2', 'EDS v2 ACKed');
  t.equal(st2.types[EDS]!.lastNack, undefined, 'no NACK');
  for (const ty of [LDS, RDS, CDS] as const) t.equal(st2.types[ty]!.sentVersion, 'v1', `${st2.types[ty]!.type} unchanged, not pushed again`);

  // 4. A NACK from a third-party client: without a locality gRPC rejects the assignment. The
  //    server records the reason, and the client keeps serving the last good config (server B).
  cache.setSnapshot(NODE, snapshot('v3', a.port, false));
  await waitFor('NACK of EDS v3', () => syncState(status()?.types[EDS]) === 'NACKED');
  const nack = status()!.types[EDS]!;
  t.equal(nack.lastNack?.version, 'v3', 'the NACK names the rejected version');
  t.match(nack.lastNack?.message, /locality unset/, 'with the client\'s reason from error_detail');
  t.equal(nack.ackedVersion, 'v2', 'the version the client holds is still v2');
  t.equal((await call('after-nack')).from, 'server-b', 'and calls still go where v2 said');
});
