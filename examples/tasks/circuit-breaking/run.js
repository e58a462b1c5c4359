#!/usr/bin/env node
// Istio's circuit breaking task as a local mesh on loopback: httpbin (the stand-in on
// 127.0.0.1:8080 behind its sidecar on 127.0.0.140) and the fortio pod (its sidecar on
// 127.0.0.141; the load client is load.js, sending through that sidecar). The DestinationRule
// of k8s/ allows one connection and one pending request to httpbin, so concurrent load
// overflows: 503s with the UO flag, counted in the client sidecar's upstream_rq_pending_overflow.
// The steps run in order, then the mesh stays up for more. Ctrl-C stops every process.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LocalMesh } from '../../local-mesh.js';
import { HTTPBIN, logFileOf, logLines, request, runNode, step, until } from '../httpbin/task-steps.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const LOAD = path.join(here, 'load.js');
const httpbin = { app: 'httpbin', ip: '127.0.0.140', name: 'httpbin-local-00001', namespace: 'default', labels: { app: 'httpbin', version: 'v1' }, serviceAccount: 'httpbin', appPorts: [8080], listenPorts: [8080] };
const fortio = { app: 'fortio', ip: '127.0.0.141', name: 'fortio-deploy-local-00001', namespace: 'default', labels: { app: 'fortio' } };
const proxy = `${fortio.ip}:15001`;
const URL_ = 'http://httpbin:8000/get';

const mesh = new LocalMesh({ name: 'circuit-breaking', configDir: path.join(here, 'k8s') });
mesh.handleSignals();
await mesh.requireFreePorts([httpbin, fortio]);
try {
  await mesh.startControlPlane();
  mesh.startApp(httpbin, HTTPBIN, { PORT: '8080', NAME: 'httpbin' });
  await mesh.startSidecar(httpbin);
  await mesh.startSidecar(fortio);
  await until('httpbin answers through the fortio sidecar', async () => (await request(URL_, { proxy })).status === 200);

  step(`Adding a client: one request (fortio curl -quiet ${URL_})`);
  console.log(`$ node load.js curl -proxy ${proxy} ${URL_}`);
  console.log((await runNode(LOAD, ['curl', '-proxy', proxy, URL_])).trimEnd());

  step('Tripping the circuit breaker: 2 connections, 20 requests (fortio load -c 2 -qps 0 -n 20)');
  console.log(`$ node load.js load -c 2 -qps 0 -n 20 -proxy ${proxy} ${URL_}`);
  console.log((await runNode(LOAD, ['load', '-c', '2', '-qps', '0', '-n', '20', '-proxy', proxy, URL_])).trimEnd());

  step('3 connections, 30 requests: more of them overflow (fortio load -c 3 -qps 0 -n 30)');
  console.log(`$ node load.js load -c 3 -qps 0 -n 30 -proxy ${proxy} ${URL_}`);
  console.log((await runNode(LOAD, ['load', '-c', '3', '-qps', '0', '-n', '30', '-proxy', proxy, URL_])).trimEnd());

  step("The client sidecar's stats (pilot-agent request GET stats | grep httpbin | grep pending)");
  console.log(`$ curl -s http://${fortio.ip}:15000/stats | grep httpbin | grep pending`);
  const stats = await (await fetch(`http://${fortio.ip}:15000/stats`)).text();
  console.log(stats.split('\n').filter((l) => l.includes('httpbin') && l.includes('pending')).join('\n'));

  step("The 503s in the client sidecar's access log (response flag UO: upstream overflow)");
  const log = logFileOf(mesh, 'fortio sidecar');
  const uo = await until('the access log lines', async () => logLines(log).filter((l) => / 503 UO /.test(l)), 5000).catch(() => []);
  console.log(uo.slice(0, 3).join('\n') || '(none)');
  console.log(`... ${uo.length} lines with "503 UO" in ${log}`);

  console.log(`
The circuit breaking task is running: fortio sidecar ${proxy} -> httpbin sidecar ${httpbin.ip}:8080 -> httpbin 127.0.0.1:8080.
Try:
  node ${path.relative(process.cwd(), LOAD)} load -c 3 -qps 0 -n 30 -proxy ${proxy} ${URL_}
  curl -s http://${fortio.ip}:15000/stats | grep httpbin | grep -e pending -e circuit_breakers
  npx minimesh proxy-config clusters ${fortio.name}.${fortio.namespace} -o json     # the circuit breakers and outlier detection of outbound|8000||httpbin...
  grep ' UO ' ${log}
Edit ${path.relative(process.cwd(), path.join(here, 'k8s', 'destination-rule.yaml'))} (say maxConnections: 3) and load again. Ctrl-C stops everything.
Logs of every process: ${mesh.logDir}
`);
} catch (e) {
  console.error(`the circuit breaking task did not run: ${e.message}`);
  await mesh.stop(1);
}
