/**
 * The runnable labs, one after the other (they share the control plane's fixed ports):
 * `npm start` (examples/echo/run.js) for a few seconds: client lines show responses that came
 * through the sidecars, then SIGINT stops every process it started; and
 * `npm run start:microservices` (lab-09): curl through the ingress gateway; and
 * `npm run start:grpc`: grpc-js client and servers through two sidecars, every call kind, the
 * 80/20 split, and the gRPC edge on the dashboard; and `npm run start:security`: the steps of
 * examples/security/README.md (helpers/security-walkthrough.ts). They bind the
 * examples' fixed addresses (127.0.0.1:15010/15014, 127.0.0.2-4:…): skipped when taken.
 */
import t, { type Test } from 'tap';

// Whole labs as processes: slow when the machine is busy (the image build may run beside this file).
// Its own minutes, after waiting for examples-tasks-httpbin.test.ts (the examples' lock).
t.setTimeout(900_000);
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { X509Certificate } from 'node:crypto';
import { get as httpGet } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { pageShowsEdge, waitForEdge } from './helpers/mesh-graph.js';
import { configCopy, walkthrough } from './helpers/security-walkthrough.js';
import { kialiIncoming, kialiOutgoing, PROMETHEUS_BIN, startPrometheus, type VectorSample } from './helpers/prometheus.js';
import { holdExamplesLock } from './helpers/examples-lock.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
const ADDRESSES = ['127.0.0.1:15010', '127.0.0.1:15014', '127.0.0.1:20001', '127.0.0.1:5678', '127.0.0.2:5678', '127.0.0.2:8080', '127.0.0.1:8102', '127.0.0.1:8103', '127.0.0.1:50051', '127.0.0.1:50052', '127.0.0.1:8000', '127.0.0.2:8000', ...['127.0.0.2', '127.0.0.3', '127.0.0.4'].flatMap((ip) => [15000, 15001, 15021].map((p) => `${ip}:${p}`))];

function free(hp: string): Promise<boolean> {
  const i = hp.lastIndexOf(':');
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(Number(hp.slice(i + 1)), hp.slice(0, i), () => s.close(() => resolve(true)));
  });
}

function descendants(pid: number): number[] {
  let out = '';
  try {
    out = execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' });
  } catch {
    return []; // no children
  }
  const kids = out.split('\n').map((l) => Number(l.trim())).filter((n) => n > 0);
  return kids.flatMap((k) => [k, ...descendants(k)]);
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

// Another test file running examples (they share fixed addresses) finishes first; then what is
// still taken is something outside the tests ('npm start'?): skipped here, a failure under CI.
const lock = await holdExamplesLock();
t.teardown(() => lock.release());
const busy: string[] = [];
for (const a of ADDRESSES) if (!(await free(a))) busy.push(a);
const skip = busy.length > 0 && process.env.CI !== 'true' ? `the examples' addresses are in use (${busy.join(', ')}): is 'npm start' running?` : false;

/** Runs an example's runner; `out()` is what it printed so far; killed at teardown if still running. */
function startExample(t: Test, script: string, env: Record<string, string> = {}): { child: ChildProcess; out: () => string; exited: Promise<number | null> } {
  // Its own process group: a failed or timed-out test kills the runner and everything it started.
  const child = spawn(process.execPath, [path.join(repo, script)], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let text = '';
  child.stdout!.on('data', (d) => (text += d));
  child.stderr!.on('data', (d) => (text += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  t.teardown(() => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // the group is gone already
    }
  });
  return { child, out: () => text, exited };
}

t.test('npm start: the echo lab through sidecars, Ctrl-C stops everything', { skip }, async (t) => {
  const { child, out: output, exited } = startExample(t, 'examples/echo/run.js', { INTERVAL_MS: '300' });

  const clientLines = (): string[] => output().split('\n').filter((l) => l.startsWith('client app |') && l.includes('Hello from backend service'));
  const end = Date.now() + 90000;
  while (clientLines().length < 2 && Date.now() < end && child.exitCode === null) await new Promise((r) => setTimeout(r, 100));
  t.ok(clientLines().length >= 2, 'client lines with the backend answer');
  if (clientLines().length < 2) t.comment(output());
  t.match(output(), /control plane ready/);
  t.match(output(), /echo pod 127\.0\.0\.2: sidecar ready/);
  t.match(output(), /client pod 127\.0\.0\.3: sidecar ready/);
  t.match(output(), /npx minimesh proxy-status/);
  t.match(clientLines()[0], /-> 200 "Hello from backend service" x-envoy-upstream-service-time: \d+/, 'status, body and x-envoy-upstream-service-time');
  await t.test('the control plane\'s graph: Kiali\'s JSON and the page in a browser', async (t) => {
    const { edge } = await waitForEdge(t, 'namespaces=client&graphType=workload&duration=60s', 'client-deployment', 'echo-service');
    t.ok(edge, 'GET /api/namespaces/graph: client-deployment -> echo-service with a rate');
    t.equal(edge?.traffic?.protocol, 'http');
    t.ok(edge?.traffic?.responses?.['200'], 'responses: 200');
    const { edge: svc } = await waitForEdge(t, 'namespaces=client&graphType=workload&duration=60s', 'echo-service', 'echo-deployment');
    t.ok(svc, 'echo-service -> echo-deployment');
    await pageShowsEdge(t, 'client', 'client-deployment', 'echo-service', 'echo-graph.png');
    const stat = execFileSync(process.execPath, [path.join(repo, 'packages/cli/bin/minimesh.js'), 'stat', 'deploy', '-n', 'client'], { encoding: 'utf8' });
    t.match(stat, /^NAME\s+MESHED\s+SUCCESS\s+RPS\s+LATENCY_P50\s+LATENCY_P95\s+LATENCY_P99\s+TCP_CONN/m, 'minimesh stat deploy -n client: the header');
    t.match(stat, /^echo-deployment\s+1\/1\s+100\.00%\s+[\d.]+rps/m, 'echo-deployment at 100.00% success');
  });
  await t.test('a real Prometheus scraping the sidecars answers Kiali\'s edge queries', (t) => prometheusChecks(t, output()));
  await t.test('each sidecar holds its workload certificate: proxy-config secret', async (t) => {
    const secret = execFileSync(process.execPath, [path.join(repo, 'packages/cli/bin/minimesh.js'), 'proxy-config', 'secret', 'client-deployment-local-00001.client'], { encoding: 'utf8' });
    t.match(secret, /^RESOURCE NAME\s+TYPE\s+STATUS\s+VALID CERT\s+SERIAL NUMBER\s+NOT AFTER\s+NOT BEFORE$/m, 'istioctl\'s header');
    t.match(secret, /^default\s+Cert Chain\s+ACTIVE\s+true\s+[0-9a-f]+\s/m, 'the workload certificate, valid');
    t.match(secret, /^ROOTCA\s+CA\s+ACTIVE\s+true\s/m, 'the root');
    const json = JSON.parse(execFileSync(process.execPath, [path.join(repo, 'packages/cli/bin/minimesh.js'), 'proxy-config', 'secret', 'client-deployment-local-00001.client', '-o', 'json'], { encoding: 'utf8' })) as { dynamicActiveSecrets: { name: string; secret: { tlsCertificate?: { certificateChain: { inlineBytes: string } } } }[] };
    const chain = Buffer.from(json.dynamicActiveSecrets.find((s) => s.name === 'default')!.secret.tlsCertificate!.certificateChain.inlineBytes, 'base64').toString();
    t.equal(new X509Certificate(chain).subjectAltName, 'URI:spiffe://cluster.local/ns/client/sa/default', 'its identity: the pod\'s namespace and service account');
  });

  const pids = descendants(child.pid!);
  t.ok(pids.length >= 5, `${pids.length} processes started (control plane, 2 apps, 2 sidecars)`);
  child.kill('SIGINT');
  t.equal(await exited, 0, 'exits 0 on SIGINT');
  await new Promise((r) => setTimeout(r, 200));
  t.same(pids.filter(alive), [], 'no process left running');
});

t.test('npm run start:microservices: lab-09 through the ingress gateway', { skip }, async (t) => {
  const { child, out: output, exited } = startExample(t, 'examples/microservices/run.js');
  const get = (p: string): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> =>
    new Promise((resolve, reject) => {
      const req = httpGet({ host: '127.0.0.2', port: 8080, path: p }, (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      });
      req.on('error', reject);
      req.setTimeout(3000, () => req.destroy(new Error('timeout')));
    });
  let first: Awaited<ReturnType<typeof get>> | undefined;
  // The control plane, two apps with their sidecars, then the gateway: slow when the machine is
  // busy (the image build test may run beside this one).
  const end = Date.now() + 90000;
  while (first === undefined && Date.now() < end && child.exitCode === null) {
    try {
      const r = await get('/customers-service/v2/customers');
      if (r.status === 200) first = r;
    } catch {
      // not up yet
    }
    if (first === undefined) await new Promise((r) => setTimeout(r, 200));
  }
  if (first === undefined) t.comment(output());
  t.equal(first?.status, 200, 'GET /customers-service/v2/customers through the gateway: 200');
  t.equal(first?.body, '[]');
  t.equal(first?.headers.server, 'istio-envoy', 'server: istio-envoy');
  t.match(String(first?.headers['x-envoy-upstream-service-time']), /^\d+$/, 'x-envoy-upstream-service-time');
  const orders = await get('/orders-service/v2/orders');
  t.equal(orders.status, 200, 'GET /orders-service/v2/orders: 200');
  t.equal(orders.body, '[]');
  const none = await get('/nowhere');
  t.equal(none.status, 404, 'a path the VirtualService does not route: 404 from the gateway');
  await t.test('the graph: the ingress gateway -> customer-service -> customer-deployment', async (t) => {
    // A rate needs the counter to grow between two scrapes: keep calling while the graph is read.
    const traffic = setInterval(() => void get('/customers-service/v2/customers').catch(() => undefined), 300);
    t.teardown(() => clearInterval(traffic));
    const q = 'namespaces=default,istio-system&graphType=workload&duration=60s';
    const { edge } = await waitForEdge(t, q, 'istio-ingressgateway', 'customer-service');
    t.ok(edge, 'GET /api/namespaces/graph: istio-ingressgateway -> customer-service with a rate');
    const { edge: inbound } = await waitForEdge(t, q, 'customer-service', 'customer-deployment');
    t.ok(inbound, 'customer-service -> customer-deployment (reported by the customer sidecar, the gateway known through the metadata exchange)');
  });
  const pids = descendants(child.pid!);
  child.kill('SIGINT');
  t.equal(await exited, 0, 'exits 0 on SIGINT');
  await new Promise((r) => setTimeout(r, 200));
  t.same(pids.filter(alive), [], 'no process left running');
});

t.test('npm run start:grpc: grpc-js through two sidecars, every call kind, the 80/20 split, the gRPC edge', { skip }, async (t) => {
  const { child, out: output, exited } = startExample(t, 'examples/grpc/run.js', { INTERVAL_MS: '150' });
  const lines = (): string[] => output().split('\n').filter((l) => l.startsWith('greeter-client app |'));
  const loopLine = /so far v1: (\d+), v2: (\d+)/;
  const counts = (): [number, number] => {
    const last = lines().filter((l) => loopLine.test(l)).pop();
    const m = last === undefined ? null : loopLine.exec(last);
    return m === null ? [0, 0] : [Number(m[1]), Number(m[2])];
  };
  const end = Date.now() + 90000;
  while (counts()[0] + counts()[1] < 60 && Date.now() < end && child.exitCode === null) await new Promise((r) => setTimeout(r, 200));
  const text = lines().join('\n');
  if (counts()[0] + counts()[1] < 60) t.comment(output());
  t.match(text, /SayHello \(unary\) -> OK "Hello, mesh!" from v[12], trailer x-greeter-version: v[12]/, 'unary: the reply and the trailing metadata');
  t.match(text, /StreamHellos \(server streaming\) -> OK 3 replies: "Hello #1, mesh!" "Hello #2, mesh!" "Hello #3, mesh!"/, 'server streaming');
  t.match(text, /CollectNames \(client streaming\) -> OK "Hello, ada, grace, linus!"/, 'client streaming');
  t.match(text, /Chat \(bidirectional streaming\) -> OK 3 replies: "Hello, one!" "Hello, two!" "Hello, three!"/, 'bidirectional streaming');
  t.match(text, /SayHello with an empty name -> INVALID_ARGUMENT \(3\) "name must not be empty"/, 'a status code and its message intact');
  t.match(text, /SayHello with a 300 ms deadline on a 2 s answer -> DEADLINE_EXCEEDED \(4\)/, 'a deadline');
  t.notMatch(text, /SayHello -> (?!OK)/, 'every call of the loop succeeded');
  const [n1, n2] = counts();
  const share = n2 / (n1 + n2);
  // 80/20 per call: over 60+ calls the v2 share stays within 0.05..0.4 with near certainty.
  t.ok(n1 + n2 >= 60 && share > 0.05 && share < 0.4, `the split: v1 ${n1}, v2 ${n2} (v2 share ${share.toFixed(2)})`);
  await t.test('the dashboard shows the gRPC edge', async (t) => {
    const q = 'namespaces=grpc&graphType=workload&duration=60s';
    const { edge } = await waitForEdge(t, q, 'greeter-client', 'greeter');
    t.ok(edge, 'GET /api/namespaces/graph: greeter-client -> greeter with a rate');
    t.equal(edge?.traffic?.protocol, 'grpc', 'the edge is gRPC');
    const { edge: toV2 } = await waitForEdge(t, q, 'greeter', 'greeter-v2');
    t.ok(toV2, 'greeter -> greeter-v2');
    await pageShowsEdge(t, 'grpc', 'greeter-client', 'greeter', 'grpc-graph.png');
  });
  const pids = descendants(child.pid!);
  child.kill('SIGINT');
  t.equal(await exited, 0, 'exits 0 on SIGINT');
  await new Promise((r) => setTimeout(r, 200));
  t.same(pids.filter(alive), [], 'no process left running');
});

t.test('npm run start:security: the walkthrough of examples/security/README.md, every step', { skip }, async (t) => {
  const k8s = configCopy(t, repo);
  const { child, out: output, exited } = startExample(t, 'examples/security/run.js', { SECURITY_CONFIG_DIR: k8s });
  // Three sidecars, each waiting for its certificate and config: slow on a busy machine.
  const end = Date.now() + 150000;
  while (!output().includes("The security walkthrough's mesh is running") && Date.now() < end && child.exitCode === null) await new Promise((r) => setTimeout(r, 100));
  if (!t.match(output(), /The security walkthrough's mesh is running/, 'the mesh is up')) return t.comment(output());
  await walkthrough(t, repo, k8s);
  child.kill('SIGINT');
  t.equal(await exited, 0, 'exits 0 on SIGINT');
});

/** Prometheus on the scrape configuration `npm start` printed: Kiali's queries see the client -> echo edge. */
async function prometheusChecks(t: Test, printed: string): Promise<void> {
  if (PROMETHEUS_BIN === undefined) {
    if (process.env.CI === 'true') t.fail('prometheus is not installed, and CI installs it (.ci/run)');
    else t.comment('SKIP: prometheus is not installed (apt-get install prometheus)');
    return;
  }
  const config = /scrape configuration \(kubernetes-pods job, file discovery\) is (\S+prometheus\.yml)/.exec(printed)?.[1];
  t.ok(config, 'npm start prints where its Prometheus configuration is');
  if (config === undefined) return;
  const prom = await startPrometheus(t, config, 19090);
  const edge = (r: VectorSample[]) =>
    r.find((s) => s.metric.source_workload === 'client-deployment' && s.metric.destination_workload === 'echo-deployment' && s.metric.response_code === '200');
  const incoming = await prom.waitFor(kialiIncoming('client'), (r) => edge(r) !== undefined, 60000);
  const e = edge(incoming);
  t.ok(e, 'incoming-edge query (reporter destination): client-deployment -> echo-deployment, 200');
  t.match(e?.metric, {
    source_cluster: 'Kubernetes',
    source_workload_namespace: 'client',
    source_canonical_service: 'client',
    source_canonical_revision: 'latest',
    destination_cluster: 'Kubernetes',
    destination_service: 'echo-service.client.svc.cluster.local',
    destination_service_name: 'echo-service',
    destination_service_namespace: 'client',
    destination_workload_namespace: 'client',
    destination_canonical_service: 'echo',
    request_protocol: 'http',
    response_flags: '-',
  });
  t.ok(Number(e?.value[1]) > 0, `rate ${e?.value[1]} req/s`);
  // Each target is scraped at its own offset: the client sidecar's second sample may come later.
  const outgoing = await prom.waitFor(kialiOutgoing('client'), (r) => edge(r) !== undefined, 30000);
  t.ok(edge(outgoing), 'outgoing-edge query (reporter source): the same edge');
  const p95 = await prom.query('histogram_quantile(0.95, sum(rate(istio_request_duration_milliseconds_bucket{reporter="destination",destination_service_namespace="client"}[60s])) by (le,source_workload,destination_workload))');
  const v = Number(p95[0]?.value[1]);
  t.ok(Number.isFinite(v) && v > 0, `histogram_quantile over the duration buckets: p95 = ${p95[0]?.value[1]} ms`);
}
