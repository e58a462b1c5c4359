/**
 * Istio's locality load balancing tasks end to end on loopback, with the example's own files
 * (examples/tasks/locality-lb): four real helloworld processes, one per locality (region1/zone1,
 * region1/zone2, region2/zone3, region3/zone4, from the `istio-locality` pod label), each behind
 * its sidecar, and the sleep client's sidecar in region1/zone1, from an in-process control plane
 * on the example's k8s/ YAML plus the task's DestinationRules applied as `kubectl apply` would.
 * Distribute: 70/20/10 within binomial bounds, region2 none. Failover: region1/zone1 while it is
 * there; when its sidecar leaves (the task drains it), region1/zone2; then region2 (the rule's
 * failover region1 -> region2, not region3); then region3.
 */
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { log } from '@minimesh/proxy/log';
import { startLocalMesh, until, type Teardown } from './helpers/local-mesh.js';
import type { TaskSteps } from './helpers/task-steps.js';

log.level = 'warn';
const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
const example = path.join(repo, 'examples', 'tasks', 'locality-lb');
const steps = (await import(pathToFileURL(path.join(example, '..', 'task-steps.js')).href)) as TaskSteps;
const { helloVersion } = (await import(pathToFileURL(path.join(example, 'hello-client.js')).href)) as { helloVersion(sleepIp: string, timeoutMs?: number): Promise<string> };

const LOCALITIES = ['region1.zone1', 'region1.zone2', 'region2.zone3', 'region3.zone4'];
const SLEEP_IP = '127.0.0.210';
const helloIp = (i: number): string => `127.0.0.${211 + i}`;

/** Starts the example's helloworld app as a process on a free port; resolves the port. */
async function startHello(t: Teardown, version: string): Promise<number> {
  const child = spawn(process.execPath, [path.join(example, 'apps', 'helloworld.js')], { env: { ...process.env, PORT: '0', SERVICE_VERSION: version, POD_NAME: `helloworld-${version}-local-00001` }, stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => void child.kill('SIGTERM'));
  let out = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (d: string) => (out += d));
  const line = await until(`helloworld ${version} listens`, async () => out.includes('\n') && out.split('\n')[0], 10000, 20);
  return (JSON.parse(line) as { listening: number }).listening;
}

async function startMesh(t: Teardown) {
  const ports = await Promise.all(LOCALITIES.map((v) => startHello(t, v)));
  let k8s = fs.readFileSync(path.join(example, 'k8s', 'helloworld.yaml'), 'utf8');
  ports.forEach((p, i) => (k8s = k8s.replace(`containerPort: ${5001 + i}`, `containerPort: ${p}`)));
  const mesh = await startLocalMesh(t, { 'helloworld.yaml': k8s });
  const sidecars = [];
  for (const [i, v] of LOCALITIES.entries()) sidecars.push(await mesh.sidecar({ ip: helloIp(i), name: `helloworld-${v}`, namespace: 'sample', labels: { app: 'helloworld', version: v, 'istio-locality': v } }));
  const sleep = await mesh.sidecar({ ip: SLEEP_IP, name: 'sleep', namespace: 'sample', labels: { app: 'sleep', 'istio-locality': 'region1.zone1' } });
  await until('the sleep sidecar reaches helloworld', async () => (await helloVersion(SLEEP_IP)).startsWith('region'), 20000);
  const apply = async (file: string, marker: string): Promise<void> => {
    steps.applyManifests(path.join(mesh.configDir, 'applied.yaml'), fs.readFileSync(path.join(example, 'task', file), 'utf8'));
    await until(`the sleep sidecar has ${file}`, async () => (await (await fetch(`http://${SLEEP_IP}:15000/config_dump`)).text()).includes(marker), 20000);
  };
  return { sidecars, sleep, apply };
}

const count = (n: number): Promise<Record<string, number>> => steps.countReplies(() => helloVersion(SLEEP_IP), n);

t.test('distribute: from region1/zone1, 70% region1/zone1, 20% region1/zone2, 10% region3/zone4', async (t) => {
  const { apply } = await startMesh(t);
  await apply('locality-distribute.yaml', 'locality_weighted_lb_config');
  const n = 100;
  const c = await count(n);
  t.same(Object.keys(c).filter((k) => !LOCALITIES.includes(k)), [], `every request answered by a locality (${JSON.stringify(c)})`);
  // Binomial bounds, about four standard deviations either side of 70, 20 and 10 of 100.
  const share = (v: string): number => c[v] ?? 0;
  t.ok(share('region1.zone1') >= 51 && share('region1.zone1') <= 89, `region1/zone1 took ${share('region1.zone1')} (about 70)`);
  t.ok(share('region1.zone2') >= 4 && share('region1.zone2') <= 36, `region1/zone2 took ${share('region1.zone2')} (about 20)`);
  t.ok(share('region3.zone4') >= 1 && share('region3.zone4') <= 22, `region3/zone4 took ${share('region3.zone4')} (about 10)`);
  t.equal(share('region2.zone3'), 0, 'region2/zone3 is not in the distribution: none');
});

t.test('failover: region1/zone1 while it is there, then region1/zone2, then region2 (failover region1 -> region2), then region3', async (t) => {
  const { apply, sidecars } = await startMesh(t);
  await apply('locality-failover.yaml', 'max_requests_per_connection');
  await until('region1/zone1 answers', async () => (await helloVersion(SLEEP_IP)) === 'region1.zone1', 20000);
  t.same(await count(10), { 'region1.zone1': 10 }, 'all healthy: only the client locality region1/zone1');
  for (const [i, next] of [[0, 'region1.zone2'], [1, 'region2.zone3'], [2, 'region3.zone4']] as const) {
    // The task drains the sidecar; here it leaves, and its pod with it (the local mesh's registration).
    await sidecars[i]!.stop();
    await until(`${next} answers once ${LOCALITIES[i]} is gone`, async () => (await helloVersion(SLEEP_IP)) === next, 20000);
    t.same(await count(10), { [next]: 10 }, `${LOCALITIES.slice(0, i + 1).join(', ')} gone: all to ${next}`);
  }
});
