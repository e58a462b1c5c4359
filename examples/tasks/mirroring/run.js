#!/usr/bin/env node
// Istio's mirroring task as a local mesh on loopback: httpbin v1 (the stand-in on
// 127.0.0.1:8080, sidecar 127.0.0.143), httpbin v2 (127.0.0.1:8081, sidecar 127.0.0.144) and
// the sleep pod (its sidecar on 127.0.0.145, the client's HTTP proxy). The control plane
// watches a fresh folder holding k8s/*.yaml; each step copies its routing file
// (steps/N-*.yaml) into that folder as httpbin-routing.yaml, as `kubectl apply` would:
//   1. all traffic to v1: only v1's log shows the request
//   2. mirror to v2 (mirrorPercentage 100): v1 answers, v2's log shows the copy, Host `-shadow`
//   3. back to step 1's routing (the mirror removed): the copies stop
// `node run.js 1` (or 2) stops after that step. The mesh stays up after the last step.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LocalMesh } from '../../local-mesh.js';
import { HTTPBIN, logFileOf, logLines, request, step, until } from '../httpbin/task-steps.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const last = Number(process.argv[2] ?? '3');
if (![1, 2, 3].includes(last)) {
  console.error(`usage: run.js [STEP]: the last step to run, 1, 2 or 3 (got ${JSON.stringify(process.argv[2])})`);
  process.exit(2);
}
const v1 = { app: 'httpbin-v1', ip: '127.0.0.143', name: 'httpbin-v1-local-00001', namespace: 'default', labels: { app: 'httpbin', version: 'v1' }, appPorts: [8080], listenPorts: [8080] };
const v2 = { app: 'httpbin-v2', ip: '127.0.0.144', name: 'httpbin-v2-local-00001', namespace: 'default', labels: { app: 'httpbin', version: 'v2' }, appPorts: [8081], listenPorts: [8081] };
const sleep = { app: 'sleep', ip: '127.0.0.145', name: 'sleep-local-00001', namespace: 'default', labels: { app: 'sleep' }, serviceAccount: 'sleep' };
const proxy = `${sleep.ip}:15001`;
const URL_ = 'http://httpbin:8000/headers';

// The watched folder: k8s/ as it is, plus the routing of the current step.
const watched = fs.mkdtempSync(path.join(os.tmpdir(), 'minimesh-mirroring-config-'));
for (const f of fs.readdirSync(path.join(here, 'k8s'))) fs.copyFileSync(path.join(here, 'k8s', f), path.join(watched, f));
const routing = path.join(watched, 'httpbin-routing.yaml');
const apply = (file) => fs.copyFileSync(path.join(here, 'steps', file), routing);

const mesh = new LocalMesh({ name: 'mirroring', configDir: watched });
mesh.handleSignals();
await mesh.requireFreePorts([v1, v2, sleep]);
const appLog = (pod) => logFileOf(mesh, `${pod.app} app`);
/** The request lines (not the listening line) of a pod's httpbin log. */
const requests = (pod) => logLines(appLog(pod)).filter((l) => l.includes('"GET '));

/** Sends one request as `kubectl exec deploy/sleep -- curl -sS http://httpbin:8000/headers` would; prints its answer. */
async function curl() {
  console.log(`$ curl -sS -x ${proxy} ${URL_}`);
  const r = await request(URL_, { proxy });
  console.log(`${r.status} ${r.body.trim()}`);
}

/** The sleep sidecar's config holds a mirror policy (or not). */
async function mirrorConfigured() {
  return (await (await fetch(`http://${sleep.ip}:15000/config_dump`)).text()).includes('request_mirror_policies');
}

/**
 * Sends the task's curl and prints the lines it added to each log, once v1 logged the request
 * and, when `copy`, v2 the mirrored copy (5 s at most).
 */
async function curlAndShowLogs(copy) {
  const from = { [v1.app]: requests(v1).length, [v2.app]: requests(v2).length };
  await curl();
  await until('the logs', async () => requests(v1).length > from[v1.app] && (!copy || requests(v2).length > from[v2.app]), 5000).catch(() => {});
  for (const pod of [v1, v2]) {
    const lines = requests(pod).slice(from[pod.app]);
    console.log(`$ kubectl logs deploy/${pod.app} --tail=${Math.max(lines.length, 1)}        # all of it: ${appLog(pod)}\n${lines.length ? lines.join('\n') : '(nothing new)'}`);
  }
}

try {
  await mesh.startControlPlane();
  mesh.startApp(v1, HTTPBIN, { PORT: '8080', NAME: 'httpbin-v1' });
  mesh.startApp(v2, HTTPBIN, { PORT: '8081', NAME: 'httpbin-v2' });
  await mesh.startSidecar(v1);
  await mesh.startSidecar(v2);

  step('1. Every request to v1 (steps/1-all-to-v1.yaml: VirtualService httpbin -> subset v1, DestinationRule subsets v1, v2)');
  apply('1-all-to-v1.yaml');
  await mesh.startSidecar(sleep);
  // The routing takes effect once the sidecar holds the subset clusters: wait for a v1 answer.
  await until('httpbin answers through the sleep sidecar', async () => (await request(URL_, { proxy })).status === 200);
  await curlAndShowLogs(false);

  if (last >= 2) {
    step('2. Mirror to v2 (steps/2-mirror-to-v2.yaml: mirror host httpbin subset v2, mirrorPercentage 100)');
    apply('2-mirror-to-v2.yaml');
    // The new route reaches the sidecar after the control plane's debounce.
    await until('the sleep sidecar holds the mirror', mirrorConfigured);
    await curlAndShowLogs(true);
    console.log("v1 answered; v2 got the copy, with the Host suffixed '-shadow' (its answer is dropped).");
  }
  if (last >= 3) {
    step('3. The mirror removed (step 1 applied again): v2 gets no more copies');
    apply('1-all-to-v1.yaml');
    await until('the mirror is gone from the sleep sidecar', async () => !(await mirrorConfigured()));
    await curlAndShowLogs(false);
  }
  console.log(`
The mirroring task is running (step ${last}). The control plane watches ${watched}.
Try:
  curl -sS -x ${proxy} ${URL_}
  tail -f ${appLog(v1)} ${appLog(v2)}
  cp ${path.relative(process.cwd(), path.join(here, 'steps', '2-mirror-to-v2.yaml'))} ${routing}    # mirror again
  npx minimesh proxy-config routes ${sleep.name}.${sleep.namespace} -o json | grep -A10 request_mirror_policies
  curl -s http://${sleep.ip}:15000/stats | grep 'outbound|8000|v2|httpbin' | grep upstream_rq_
Ctrl-C stops everything.
Logs of every process: ${mesh.logDir}
`);
} catch (e) {
  console.error(`the mirroring task did not run: ${e.message}`);
  await mesh.stop(1);
}
