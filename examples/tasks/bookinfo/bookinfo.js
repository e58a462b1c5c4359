// Bookinfo in the local mesh, shared by the traffic tasks (request-routing, fault-injection,
// traffic-shifting, request-timeouts). One pod per version, each on its own loopback address
// with its sidecar: details-v1 .132, ratings-v1 .133, reviews-v1/v2/v3 .134-.136,
// productpage-v1 .137, and a `sleep` pod (.131, its sidecar only) to call productpage from,
// as the tasks do with curl. The control plane watches a fresh folder (printed at start)
// that holds one file per resource (`Kind-name.yaml`): `apply(file)` writes the resources of
// a YAML file there, replacing those of the same kind and name, as `kubectl apply -f` does;
// `remove(file)` deletes them, as `kubectl delete -f` does.
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { LocalMesh } from '../../local-mesh.js';

const here = path.dirname(fileURLToPath(import.meta.url));
export const BOOKINFO_YAML = path.join(here, 'k8s', 'bookinfo.yaml');
export const NETWORKING = path.join(here, 'networking');
const APPS = path.join(here, 'apps.js');

const pod = (service, version, ip, port) => ({
  app: `${service}-${version}`,
  service,
  version,
  ip,
  port,
  name: `${service}-${version}-local-00001`,
  namespace: 'default',
  labels: { app: service, version },
  serviceAccount: `bookinfo-${service}`,
  appPorts: [port],
  listenPorts: [port],
});
export const PODS = [
  pod('details', 'v1', '127.0.0.132', 9081),
  pod('ratings', 'v1', '127.0.0.133', 9082),
  pod('reviews', 'v1', '127.0.0.134', 9083),
  pod('reviews', 'v2', '127.0.0.135', 9084),
  pod('reviews', 'v3', '127.0.0.136', 9085),
  pod('productpage', 'v1', '127.0.0.137', 9086),
];
export const SLEEP = { app: 'sleep', ip: '127.0.0.131', name: 'sleep-local-00001', namespace: 'default', labels: { app: 'sleep' }, serviceAccount: 'sleep' };
export const podOf = (app) => PODS.find((p) => p.app === app);
export const PRODUCTPAGE_URL = 'http://productpage:9080/productpage';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** `kubectl apply -f FILE` on a folder: each resource to `Kind-name.yaml`, replacing the one before. */
export function applyTo(dir, file) {
  for (const doc of YAML.parseAllDocuments(fs.readFileSync(file, 'utf8'))) {
    const r = doc.toJS();
    if (r === null || r === undefined) continue;
    fs.writeFileSync(path.join(dir, `${r.kind}-${r.metadata.name}.yaml`), `# from ${path.relative(process.cwd(), file)}\n${YAML.stringify(r)}`);
  }
}

/** `kubectl delete -f FILE` on a folder. */
export function removeFrom(dir, file) {
  for (const doc of YAML.parseAllDocuments(fs.readFileSync(file, 'utf8'))) {
    const r = doc.toJS();
    if (r !== null && r !== undefined) fs.rmSync(path.join(dir, `${r.kind}-${r.metadata.name}.yaml`), { force: true });
  }
}

/** GET through the sleep pod's sidecar (as `curl -x 127.0.0.131:15001 URL`): status, body, ms. */
export function viaSleep(url, headers = {}, timeoutMs = 20000) {
  const u = new URL(url);
  const start = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.get({ host: SLEEP.ip, port: 15001, path: url, headers: { host: u.host, ...headers }, agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode, body, ms: Math.round(performance.now() - start) }));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}

/** What a product page shows: the reviews version, stars, or which error. */
export function summarize(body) {
  const version = /reviews-(v\d)\)/.exec(body)?.[1];
  if (body.includes('Sorry, product reviews are currently unavailable for this book.')) return 'reviews unavailable';
  if (body.includes('Ratings service is currently unavailable')) return `reviews-${version}, ratings unavailable`;
  const stars = /\((black|red) stars\)/.exec(body)?.[1];
  return version ? `reviews-${version}${stars ? ` (${stars} stars)` : ' (no stars)'}` : 'no page';
}

/** `n` product pages (as `user` when given): how many of each summary. */
export async function tally(n, user) {
  const counts = {};
  for (let i = 0; i < n; i++) {
    const s = summarize((await viaSleep(PRODUCTPAGE_URL, user ? { 'end-user': user } : {})).body);
    counts[s] = (counts[s] ?? 0) + 1;
  }
  return Object.entries(counts)
    .sort()
    .map(([k, v]) => `${v} x ${k}`)
    .join(', ');
}

/** Polls a sidecar's routes (its admin config_dump) until they hold every string of `has` and none of `lacks`. */
export async function untilConfig(p, has, lacks = [], ms = 20000) {
  const end = Date.now() + ms;
  let dump = '';
  while (Date.now() < end) {
    try {
      const all = await (await fetch(`http://${p.ip}:15000/config_dump`)).json();
      dump = JSON.stringify(all.configs.filter((c) => String(c['@type']).endsWith('RoutesConfigDump')));
      if (has.every((s) => dump.includes(s)) && !lacks.some((s) => dump.includes(s))) return;
    } catch {
      // not up yet
    }
    await sleep(100);
  }
  throw new Error(`${p.name}: its config has not arrived within ${ms} ms (wanted ${JSON.stringify(has)}, not ${JSON.stringify(lacks)})`);
}

/** The outbound cluster of a subset, quoted as in the routes' JSON (`"outbound|9080|v1|reviews.default.svc.cluster.local"`; no subset: the service's own cluster). */
export const subsetCluster = (service, subset = '') => `"outbound|9080|${subset}|${service}.default.svc.cluster.local"`;

/**
 * Starts the control plane on a fresh folder holding Bookinfo and its destination rules, the
 * apps and their sidecars, and the sleep pod; waits until productpage answers through the mesh.
 */
export async function startBookinfo(task) {
  const configDir = fs.mkdtempSync(path.join(os.tmpdir(), `minimesh-${task}-config-`));
  const mesh = new LocalMesh({ name: task, configDir });
  mesh.handleSignals();
  await mesh.requireFreePorts([...PODS, SLEEP]);
  const apply = (file) => {
    applyTo(configDir, file);
    console.log(`$ kubectl apply -f ${path.relative(process.cwd(), file)}`);
  };
  const remove = (file) => {
    removeFrom(configDir, file);
    console.log(`$ kubectl delete -f ${path.relative(process.cwd(), file)}`);
  };
  try {
    applyTo(configDir, BOOKINFO_YAML);
    await mesh.startControlPlane();
    for (const p of PODS) mesh.startApp(p, APPS, { SERVICE: p.service, VERSION: p.version, PORT: String(p.port), POD_NAME: p.name, HTTP_PROXY: `http://${p.ip}:15001` });
    for (const p of [...PODS, SLEEP]) await mesh.startSidecar(p);
    const end = Date.now() + 20000;
    for (;;) {
      const r = await viaSleep(PRODUCTPAGE_URL).catch((e) => ({ status: 0, body: e.message }));
      if (r.status === 200 && summarize(r.body) !== 'no page') break;
      if (Date.now() > end) throw new Error(`productpage does not answer through the mesh: ${r.status} ${r.body}`);
      await sleep(200);
    }
    console.log(`Bookinfo is up. The control plane watches ${configDir} (one file per resource).`);
    // As the tasks begin: Bookinfo with its default destination rules (subsets by version).
    apply(path.join(NETWORKING, 'destination-rule-all.yaml'));
    console.log('');
  } catch (e) {
    console.error(`the local mesh did not start: ${e.message}`);
    await mesh.stop(1);
  }
  return { mesh, configDir, apply, remove };
}

/** The commands a user can try while the task's mesh runs; then stays up, or stops with --exit. */
export async function finish(mesh, configDir, extra = []) {
  const pp = podOf('productpage-v1');
  console.log(`
Bookinfo keeps running with the task's last configuration. Try:
  curl -s -x ${SLEEP.ip}:15001 ${PRODUCTPAGE_URL}
  curl -s -x ${SLEEP.ip}:15001 -H 'end-user: jason' ${PRODUCTPAGE_URL}
  curl -s -x ${SLEEP.ip}:15001 '${PRODUCTPAGE_URL}?u=jason'       # or a cookie: -b user=jason
${extra.map((l) => `  ${l}\n`).join('')}  npx minimesh proxy-config routes ${pp.name}.default
  npx minimesh proxy-config routes ${pp.name}.default -o json     # the routes in full (match, weights, fault, timeout)
  npx minimesh proxy-config clusters ${pp.name}.default
  npx minimesh proxy-status
The control plane's folder: ${configDir}  (edit, add or remove files there; the sidecars follow)
Logs of every process: ${mesh.logDir}
Ctrl-C stops everything.`);
  if (process.argv.includes('--exit')) await mesh.stop(0);
}
