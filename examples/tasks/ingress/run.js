#!/usr/bin/env node
// Istio's "Ingress Gateways" task as a local mesh on loopback: the ingress gateway (a `router`
// proxy labelled `istio: ingressgateway`, listening on 127.0.0.147:8080, the Service's port 80
// target) and httpbin (the stand-in on 127.0.0.1:8080 behind its sidecar on 127.0.0.148).
// The control plane watches a fresh temp folder holding k8s/*.yaml; each step copies its file
// into it as httpbin-gateway.yaml, as `kubectl apply` would:
//   1. steps/1-httpbin-gateway.yaml: the task's Gateway httpbin-gateway (HTTP for
//      httpbin.example.com on port 80) and VirtualService httpbin (/status and /delay to
//      httpbin:8000): 200 for /status/200 with that Host, 404 for /headers and other hosts
//   2. steps/2-browser.yaml: "Accessing ingress services using a browser", hosts "*" and
//      /headers routed: /headers answers without a Host of the task's
// `node run.js 1` stops after step 1. The mesh stays up after the last step; Ctrl-C stops
// every process started here.
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LocalMesh } from '../../local-mesh.js';
import { HTTPBIN, request, step, until } from '../httpbin/task-steps.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const last = Number(process.argv[2] ?? '2');
if (![1, 2].includes(last)) {
  console.error(`usage: run.js [STEP]: the last step to run, 1 or 2 (got ${JSON.stringify(process.argv[2])})`);
  process.exit(2);
}
const gateway = { app: 'istio-ingressgateway', type: 'router', ip: '127.0.0.147', name: 'istio-ingressgateway-local-00001', namespace: 'istio-system', labels: { istio: 'ingressgateway', app: 'istio-ingressgateway' }, serviceAccount: 'istio-ingressgateway-service-account', listenPorts: [8080] };
const httpbin = { app: 'httpbin', ip: '127.0.0.148', name: 'httpbin-local-00001', namespace: 'default', labels: { app: 'httpbin', version: 'v1' }, serviceAccount: 'httpbin', appPorts: [8080], listenPorts: [8080] };
// INGRESS_HOST:INGRESS_PORT of the task.
const INGRESS = `${gateway.ip}:8080`;

/** `curl -s -I -HHost:HOST http://INGRESS/PATH`: prints the status line and headers. */
async function curlHead(host, p) {
  console.log(`$ curl -s -I -HHost:${host} "http://${INGRESS}${p}"`);
  const r = await request(`http://${INGRESS}${p}`, { method: 'HEAD', headers: { host } });
  console.log(`HTTP/1.1 ${r.status} ${http.STATUS_CODES[r.status] ?? ''}`);
  for (const [k, v] of Object.entries(r.headers)) console.log(`${k}: ${v}`);
  return r;
}

// The watched folder: k8s/ as it is, plus the Gateway and VirtualService of the current step.
const watched = fs.mkdtempSync(path.join(os.tmpdir(), 'minimesh-ingress-config-'));
for (const f of fs.readdirSync(path.join(here, 'k8s'))) fs.copyFileSync(path.join(here, 'k8s', f), path.join(watched, f));
const current = path.join(watched, 'httpbin-gateway.yaml');
const apply = (file) => fs.copyFileSync(path.join(here, 'steps', file), current);
apply('1-httpbin-gateway.yaml');

const mesh = new LocalMesh({ name: 'ingress', configDir: watched });
mesh.handleSignals();
await mesh.requireFreePorts([gateway, httpbin]);
try {
  await mesh.startControlPlane();
  mesh.startApp(httpbin, HTTPBIN, { PORT: '8080', NAME: 'httpbin' });
  await mesh.startSidecar(httpbin);
  await mesh.startSidecar(gateway);
  await until('httpbin answers through the ingress gateway', async () => (await request(`http://${INGRESS}/status/200`, { headers: { host: 'httpbin.example.com' } })).status === 200);

  step('1. Accessing ingress services (steps/1-httpbin-gateway.yaml): /status/200 of httpbin.example.com is routed to httpbin');
  await curlHead('httpbin.example.com', '/status/200');
  step('A path the VirtualService does not route (/headers): 404 from the gateway');
  await curlHead('httpbin.example.com', '/headers');
  step('A host no Gateway server takes: 404 too');
  await curlHead('other.example.com', '/status/200');
  step('/delay is routed too (the answer after 1 s)');
  console.log(`$ curl -s -HHost:httpbin.example.com "http://${INGRESS}/delay/1" -o /dev/null -w '%{http_code}'`);
  console.log((await request(`http://${INGRESS}/delay/1`, { headers: { host: 'httpbin.example.com' } })).status);

  if (last >= 2) {
    step('2. Accessing ingress services using a browser (steps/2-browser.yaml: hosts "*", /headers routed)');
    apply('2-browser.yaml');
    await until('the gateway routes /headers', async () => (await request(`http://${INGRESS}/headers`)).status === 200);
    console.log(`$ curl -s http://${INGRESS}/headers`);
    const r = await request(`http://${INGRESS}/headers`);
    console.log(`${r.status} ${r.body.trim()}`);
  }

  console.log(`
The ingress gateway task is running (step ${last}): ingress gateway ${INGRESS} -> httpbin sidecar ${httpbin.ip}:8080 -> httpbin 127.0.0.1:8080.
The control plane watches ${watched}.
Try:
  export INGRESS_HOST=${gateway.ip} INGRESS_PORT=8080
  curl -s -I -HHost:httpbin.example.com "http://$INGRESS_HOST:$INGRESS_PORT/status/200"
  curl -s -I -HHost:httpbin.example.com "http://$INGRESS_HOST:$INGRESS_PORT/headers"
  npx minimesh proxy-config routes ${gateway.name}.${gateway.namespace}
  npx minimesh proxy-config listeners ${gateway.name}.${gateway.namespace}
  cp ${path.relative(process.cwd(), path.join(here, 'steps', '1-httpbin-gateway.yaml'))} ${current}    # back to step 1
Ctrl-C stops everything.
Logs of every process: ${mesh.logDir}
`);
} catch (e) {
  console.error(`the ingress task did not run: ${e.message}`);
  await mesh.stop(1);
}
