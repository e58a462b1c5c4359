#!/usr/bin/env node
// Istio's TCP traffic shifting task as a local mesh on loopback: tcp-echo v1 (127.0.0.181, its
// app answering "one ...") and v2 (127.0.0.182, "two ..."), each with its sidecar, a sleep pod
// (127.0.0.183, its sidecar) and the ingress gateway (127.0.0.180, `istio: ingressgateway`,
// its TCP server on 31400). The steps: all connections to v1, then 80% v1 / 20% v2, each time
// 20 connections through the gateway, as the task's `nc $INGRESS_HOST $TCP_INGRESS_PORT` loop.
// The control plane reads a copy of k8s/ to which the task's files are applied (task/*.yaml, by
// kind and name, as `kubectl apply`). Ctrl-C stops every process started here.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LocalMesh } from '../../local-mesh.js';
import { echoOnce, echoViaSidecar } from './tcp-client.js';
import { applyManifests, countReplies, waitFor } from '../task-steps.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const NS = 'istio-io-tcp-traffic-shifting';
const gateway = { app: 'istio-ingressgateway', type: 'router', ip: '127.0.0.180', name: 'istio-ingressgateway-local-00001', namespace: 'istio-system', labels: { istio: 'ingressgateway', app: 'istio-ingressgateway' }, listenPorts: [31400] };
const v1 = { app: 'tcp-echo-v1', ip: '127.0.0.181', name: 'tcp-echo-v1-local-00001', namespace: NS, labels: { app: 'tcp-echo', version: 'v1' }, appPorts: [9100, 9101], listenPorts: [9100, 9101] };
const v2 = { app: 'tcp-echo-v2', ip: '127.0.0.182', name: 'tcp-echo-v2-local-00001', namespace: NS, labels: { app: 'tcp-echo', version: 'v2' }, appPorts: [9200, 9201], listenPorts: [9200, 9201] };
const sleep = { app: 'sleep', ip: '127.0.0.183', name: 'sleep-local-00001', namespace: NS, labels: { app: 'sleep' } };
const CONNECTIONS = 20;

const configDir = fs.mkdtempSync(path.join(os.tmpdir(), 'minimesh-tcp-traffic-shifting-config-'));
for (const f of fs.readdirSync(path.join(here, 'k8s'))) fs.copyFileSync(path.join(here, 'k8s', f), path.join(configDir, f));
const apply = (file) => {
  applyManifests(path.join(configDir, 'applied.yaml'), fs.readFileSync(path.join(here, 'task', file), 'utf8'));
  console.log(`\n$ kubectl apply -f ${file}`);
};
const gatewayConfig = async () => (await fetch(`http://${gateway.ip}:15000/config_dump`)).text();

async function shoot(what) {
  const counts = await countReplies(() => echoOnce(gateway.ip, 31400, 'hello'), CONNECTIONS);
  console.log(`${CONNECTIONS} connections (echo hello | nc ${gateway.ip} 31400) ${what}:`);
  for (const [reply, n] of Object.entries(counts).sort()) console.log(`  ${String(n).padStart(3)}  ${reply}`);
  return counts;
}

const mesh = new LocalMesh({ name: 'tcp-traffic-shifting', configDir });
mesh.handleSignals();
await mesh.requireFreePorts([gateway, v1, v2, sleep]);
try {
  await mesh.startControlPlane();
  const echo = path.join(here, 'apps', 'tcp-echo.js');
  // The Deployments' args: "9000,9001,9002" and the prefix; here the ports the Deployments name.
  mesh.startApp(v1, echo, { PORTS: v1.appPorts.join(','), PREFIX: 'one' });
  mesh.startApp(v2, echo, { PORTS: v2.appPorts.join(','), PREFIX: 'two' });
  await mesh.startSidecar(v1);
  await mesh.startSidecar(v2);
  await mesh.startSidecar(sleep);
  await mesh.startSidecar(gateway);

  apply('tcp-echo-all-v1.yaml');
  await waitFor('the gateway serves 31400', async () => (await echoOnce(gateway.ip, 31400, 'hello')) === 'one hello', 20000);
  await shoot('with all traffic to v1');

  apply('tcp-echo-20-v2.yaml');
  await waitFor('the gateway has the weighted route', async () => (await gatewayConfig()).includes('weighted_clusters'), 20000);
  await shoot('with 80% to v1 and 20% to v2');

  // The VirtualService is bound to the gateway only: inside the mesh, tcp-echo:9000 is the plain service.
  const mesh20 = await countReplies(() => echoViaSidecar(sleep.ip, 'tcp-echo:9000', 'hello'), CONNECTIONS);
  console.log(`\n${CONNECTIONS} connections from the sleep pod through its sidecar to tcp-echo:9000 (no route bound to mesh: either version):`);
  for (const [reply, n] of Object.entries(mesh20).sort()) console.log(`  ${String(n).padStart(3)}  ${reply}`);

  console.log(`
The TCP traffic shifting task is running: ingress gateway ${gateway.ip}:31400 -> tcp-echo v1 (${v1.ip}) / v2 (${v2.ip}).
Try:
  for i in $(seq 1 20); do echo hello | nc -q 1 ${gateway.ip} 31400; done
  npx minimesh proxy-config listeners ${gateway.name}.${gateway.namespace}
  curl -s http://${gateway.ip}:15000/stats | grep 'outbound|9000|v.|tcp-echo.*upstream_cx_total'
Edit ${path.join(configDir, 'applied.yaml')} to change the weights. Ctrl-C to stop.`);
} catch (e) {
  console.error(e.message);
  await mesh.stop(1);
}
