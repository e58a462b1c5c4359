/**
 * Istio's TCP traffic shifting task through the ingress gateway, end to end on loopback, with
 * the example's own files (examples/tasks/tcp-traffic-shifting): two real tcp-echo processes
 * ("one", "two") behind their sidecars, an ingress gateway (a `router` proxy labelled
 * `istio: ingressgateway`) with the task's TCP server on 31400, an in-process control plane on
 * the example's k8s/ YAML plus the task's files applied as `kubectl apply` would. All v1: every
 * connection answers "one hello"; 80/20: both answer, v2's share within binomial bounds.
 */
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { log } from '@minimesh/proxy/log';
import { startXdsProxy } from '@minimesh/proxy/xds-mode';
import { startLocalMesh, until, type Teardown } from './helpers/local-mesh.js';
import type { TaskSteps } from './helpers/task-steps.js';

log.level = 'warn';
const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
const example = path.join(repo, 'examples', 'tasks', 'tcp-traffic-shifting');
const NS = 'istio-io-tcp-traffic-shifting';
const GATEWAY_IP = '127.0.0.200';
const V1_IP = '127.0.0.201';
const V2_IP = '127.0.0.202';
const SLEEP_IP = '127.0.0.203';

const client = {
  ...((await import(pathToFileURL(path.join(example, 'tcp-client.js')).href)) as {
    echoOnce(host: string, port: number, line: string, timeoutMs?: number): Promise<string>;
    echoViaSidecar(sidecarIp: string, target: string, line: string, timeoutMs?: number): Promise<string>;
  }),
  ...((await import(pathToFileURL(path.join(example, '..', 'task-steps.js')).href)) as TaskSteps),
};

/** Starts the example's tcp-echo app as a process on free ports; resolves its two ports. */
async function startEcho(t: Teardown, prefix: string): Promise<number[]> {
  const child = spawn(process.execPath, [path.join(example, 'apps', 'tcp-echo.js')], { env: { ...process.env, PORTS: '0,0', PREFIX: prefix }, stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => void child.kill('SIGTERM'));
  let out = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (d: string) => (out += d));
  const line = await until(`tcp-echo ${prefix} listens`, async () => out.includes('\n') && out.split('\n')[0], 10000, 20);
  return (JSON.parse(line) as { listening: number[] }).listening;
}

t.test('TCP traffic shifting through the ingress gateway: all to v1, then 80/20', async (t) => {
  const [v1Ports, v2Ports] = [await startEcho(t, 'one'), await startEcho(t, 'two')];
  // The example's Deployments name their container ports; here the ports the apps got.
  const k8s = fs
    .readFileSync(path.join(example, 'k8s', 'tcp-echo.yaml'), 'utf8')
    .replace('containerPort: 9100', `containerPort: ${v1Ports[0]}`)
    .replace('containerPort: 9101', `containerPort: ${v1Ports[1]}`)
    .replace('containerPort: 9200', `containerPort: ${v2Ports[0]}`)
    .replace('containerPort: 9201', `containerPort: ${v2Ports[1]}`);
  const task = (f: string): string => fs.readFileSync(path.join(example, 'task', f), 'utf8');
  const gatewayService = fs.readFileSync(path.join(example, 'k8s', 'ingressgateway-service.yaml'), 'utf8');
  const mesh = await startLocalMesh(t, { 'tcp-echo.yaml': k8s, 'ingressgateway-service.yaml': gatewayService });
  const applied = path.join(mesh.configDir, 'applied.yaml');
  client.applyManifests(applied, task('tcp-echo-all-v1.yaml'));
  await mesh.sidecar({ ip: V1_IP, name: 'tcp-echo-v1', namespace: NS, labels: { app: 'tcp-echo', version: 'v1' } });
  await mesh.sidecar({ ip: V2_IP, name: 'tcp-echo-v2', namespace: NS, labels: { app: 'tcp-echo', version: 'v2' } });
  const gw = await startXdsProxy({
    server: `127.0.0.1:${mesh.cp.xdsPort}`,
    node: { id: `router~${GATEWAY_IP}~istio-ingressgateway-local-00001.istio-system~istio-system.svc.cluster.local`, cluster: 'istio-ingressgateway.istio-system', metadata: { LABELS: { istio: 'ingressgateway', app: 'istio-ingressgateway' } } },
    adminAddress: GATEWAY_IP,
    adminPort: 15000,
    healthAddress: '127.0.0.1',
    healthPort: undefined,
    drainTimeMs: 100,
    backoff: { initialMs: 50, maxMs: 200 },
  });
  t.teardown(() => gw.stop());
  const once = (): Promise<string> => client.echoOnce(GATEWAY_IP, 31400, 'hello');

  await until('the gateway serves its TCP server on 31400', async () => (await once()) === 'one hello', 20000);
  t.same(await client.countReplies(once, 10), { 'one hello': 10 }, 'all to v1: 10 connections, every one answered by v1');

  client.applyManifests(applied, task('tcp-echo-20-v2.yaml'));
  await until('the gateway has the 80/20 route', async () => (await (await fetch(`http://${GATEWAY_IP}:15000/config_dump`)).text()).includes('weighted_clusters'), 20000);
  const n = 60;
  const counts = await client.countReplies(once, n);
  t.same(Object.keys(counts).sort().filter((k) => k !== 'one hello' && k !== 'two hello'), [], `only v1 and v2 answer (${JSON.stringify(counts)})`);
  const two = counts['two hello'] ?? 0;
  // v2's share: 20% of 60 = 12, sd 3.1; four sd either side (P(0) = 0.8^60, about 1.5e-6).
  t.ok(two >= 1 && two <= 25, `v2 took ${two} of ${n} connections (expected about 12)`);
  t.equal((counts['one hello'] ?? 0) + two, n, 'every connection answered');
  const stats = await (await fetch(`http://${GATEWAY_IP}:15000/stats`)).text();
  t.match(stats, new RegExp(`cluster\\.outbound\\|9000\\|v2\\|tcp-echo\\.${NS}\\.svc\\.cluster\\.local\\.upstream_cx_total: ${two}\\b`), 'the gateway counted the same connections to v2');

  // The sleep pod through its sidecar (CONNECT): the route is bound to the gateway only, so the
  // mesh's connections go to the plain service, either version.
  await mesh.sidecar({ ip: SLEEP_IP, name: 'sleep', namespace: NS, labels: { app: 'sleep' } });
  await until('the sleep sidecar tunnels to tcp-echo:9000', async () => /^(one|two) hello$/.test(await client.echoViaSidecar(SLEEP_IP, 'tcp-echo:9000', 'hello')), 20000);
  const viaSidecar = await client.countReplies(() => client.echoViaSidecar(SLEEP_IP, 'tcp-echo:9000', 'hello'), 10);
  t.same(Object.keys(viaSidecar).filter((k) => k !== 'one hello' && k !== 'two hello'), [], `through the sleep sidecar every connection is answered by v1 or v2 (${JSON.stringify(viaSidecar)})`);
});
