#!/usr/bin/env node
// Istio's locality load balancing tasks (weighted distribution, then failover) as a local mesh
// on loopback: helloworld in four localities, each pod with its sidecar (region1/zone1
// 127.0.0.191, region1/zone2 .192, region2/zone3 .193, region3/zone4 .194), and the sleep pod
// in region1/zone1 (127.0.0.190) asking `helloworld.sample:5000/hello` through its sidecar.
//   node run.js              both tasks: distribute, then failover
//   node run.js distribute   70/20/10 from region1/zone1, counted over 100 requests
//   node run.js failover     region1/zone1 serves; its sidecar leaves (the task drains it):
//                            region1/zone2 takes over, then region2 (failover region1 -> region2),
//                            then region3
// The control plane reads a copy of k8s/ to which the task's files are applied (task/*.yaml, by
// kind and name, as `kubectl apply`). Ctrl-C stops every process started here.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LocalMesh } from '../../local-mesh.js';
import { applyManifests, countReplies, waitFor } from '../task-steps.js';
import { HELLO_URL, helloVersion } from './hello-client.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const steps = process.argv[2] === undefined ? ['distribute', 'failover'] : [process.argv[2]];
if (!steps.every((s) => s === 'distribute' || s === 'failover')) {
  console.error(`usage: node run.js [distribute|failover] (got ${JSON.stringify(process.argv[2])})`);
  process.exit(2);
}
const LOCALITIES = ['region1.zone1', 'region1.zone2', 'region2.zone3', 'region3.zone4'];
const hello = LOCALITIES.map((v, i) => ({ app: `helloworld-${v}`, ip: `127.0.0.${191 + i}`, name: `helloworld-${v}-local-00001`, namespace: 'sample', version: v, labels: { app: 'helloworld', version: v, 'istio-locality': v }, appPorts: [5001 + i], listenPorts: [5001 + i] }));
const sleep = { app: 'sleep', ip: '127.0.0.190', name: 'sleep-local-00001', namespace: 'sample', labels: { app: 'sleep', 'istio-locality': 'region1.zone1' } };

const configDir = fs.mkdtempSync(path.join(os.tmpdir(), 'minimesh-locality-lb-config-'));
for (const f of fs.readdirSync(path.join(here, 'k8s'))) fs.copyFileSync(path.join(here, 'k8s', f), path.join(configDir, f));
const sleepConfig = async () => (await fetch(`http://${sleep.ip}:15000/config_dump`)).text();
async function apply(file, marker) {
  applyManifests(path.join(configDir, 'applied.yaml'), fs.readFileSync(path.join(here, 'task', file), 'utf8'));
  console.log(`\n$ kubectl apply -f ${file}`);
  await waitFor(`the sleep sidecar has ${file}`, async () => (await sleepConfig()).includes(marker), 20000);
}
async function show(n, what) {
  const counts = await countReplies(() => helloVersion(sleep.ip), n);
  console.log(`${n} x curl ${HELLO_URL} from sleep (region1/zone1) ${what}:`);
  for (const [version, k] of Object.entries(counts).sort()) console.log(`  ${String(k).padStart(3)}  ${version}`);
}
/** Polls until one request is answered by `version` (the requests on the way may fail). */
const answeredBy = (version) => waitFor(`${version} answers`, async () => (await helloVersion(sleep.ip)) === version, 20000);

const mesh = new LocalMesh({ name: 'locality-lb', configDir });
mesh.handleSignals();
await mesh.requireFreePorts([sleep, ...hello]);
try {
  await mesh.startControlPlane();
  const app = path.join(here, 'apps', 'helloworld.js');
  for (const h of hello) mesh.startApp(h, app, { PORT: String(h.appPorts[0]), SERVICE_VERSION: h.version, POD_NAME: h.name });
  for (const h of hello) await mesh.startSidecar(h);
  await mesh.startSidecar(sleep);
  await waitFor('the sleep sidecar sees the four localities', async () => (await helloVersion(sleep.ip)).startsWith('region'), 20000);

  if (steps.includes('distribute')) {
    await apply('locality-distribute.yaml', 'locality_weighted_lb_config');
    await show(100, 'with 70% region1/zone1, 20% region1/zone2, 10% region3/zone4');
  }
  if (steps.includes('failover')) {
    await apply('locality-failover.yaml', 'max_requests_per_connection');
    await answeredBy('region1.zone1');
    await show(10, 'while every locality is healthy');
    for (const [i, next] of [[0, 'region1.zone2'], [1, 'region2.zone3'], [2, 'region3.zone4']]) {
      console.log(`\n$ drain the sidecar of ${hello[i].name} (here: stop it; its pod leaves the endpoints)`);
      await mesh.stopSidecar(hello[i]);
      await answeredBy(next);
      await show(10, `with ${LOCALITIES.slice(0, i + 1).join(', ')} gone`);
    }
  }
  console.log(`
The locality tasks ran. Try:
  curl -x ${sleep.ip}:15001 ${HELLO_URL}
  npx minimesh proxy-config endpoints ${sleep.name}.${sleep.namespace}
  curl -s http://${sleep.ip}:15000/clusters | grep helloworld
Ctrl-C to stop.`);
} catch (e) {
  console.error(e.message);
  await mesh.stop(1);
}
