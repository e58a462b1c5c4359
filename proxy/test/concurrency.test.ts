/**
 * `minimesh proxy --concurrency 2` as a process, on real sockets: both workers accept from the
 * shared listener (Envoy's per-worker stats `listener.<address>.worker_<N>.downstream_cx_total`
 * say which worker took each connection), /stats and /stats/prometheus sum the workers, a
 * pushed route reaches both workers, a killed worker is forked again and serves, SIGTERM
 * stops them all. Every wait polls with a deadline.
 */
import t from 'tap';
import http from 'node:http';
import net from 'node:net';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { SnapshotCache, XdsServer, syncState } from '@minimesh/xds/server';
import { TYPE_URL } from '@minimesh/api';
import { buildBootstrap, ok, request, route, startTestProxy, startUpstream, tempDir, writeBootstrap, type TestLike } from './helpers/harness.js';
import { oneRouteSnapshot, LISTENER_NAME } from './helpers/xds-snapshot.js';
import { parseProxyArgs } from '../src/main.js';

// Each case starts a primary and two workers (three node processes) on a shared 2-core machine.
t.setTimeout(240_000);

const CLI = fileURLToPath(new URL('../../../packages/cli/bin/minimesh.js', import.meta.url));
const NODE = 'sidecar~127.0.0.1~conc-1.default~default.svc.cluster.local';

interface Proc {
  readonly child: ChildProcess;
  /** The JSON log lines so far. */
  lines(): Record<string, unknown>[];
  /** Everything on stderr so far. */
  text(): string;
  readonly exited: Promise<number | null>;
}

function run(t: TestLike, args: string[]): Proc {
  const child = spawn(process.execPath, [CLI, 'proxy', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  t.teardown(() => {
    // The workers exit with their primary (their IPC channel closes).
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  const lines = (): Record<string, unknown>[] =>
    err.split('\n').flatMap((l) => {
      try {
        return [JSON.parse(l) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
  return { child, lines, text: () => err, exited };
}

async function until<T>(what: string, f: () => T | undefined | false | Promise<T | undefined | false>, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function logged(p: Proc, msg: string, from = 0): Record<string, unknown> | undefined {
  return p.lines().slice(from).find((l) => l.msg === msg);
}

function get(port: number, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve(body));
      })
      .on('error', reject);
  });
}

function post(port: number, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method: 'POST', agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode!));
    });
    req.on('error', reject);
    req.end();
  });
}

function connects(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.on('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}

/** `name: value` of /stats (0 when absent). */
async function stat(adminPort: number, name: string): Promise<number> {
  const text = await get(adminPort, `/stats?filter=${encodeURIComponent(`^${name.replace(/\./g, '\\.')}$`)}`);
  const m = new RegExp(`^${name.replace(/\./g, '\\.')}: (\\d+)$`, 'm').exec(text);
  return m === null ? 0 : Number(m[1]);
}

/** Sends requests (a new connection each, 4 at a time) until both workers took connections; how many were sent, and how many were not 200 `expectBody`. */
async function loadBothWorkers(port: number, adminPort: number, listener: string, expectBody: string): Promise<{ sent: number; wrong: number }> {
  const before = [await stat(adminPort, `listener.${listener}.worker_0.downstream_cx_total`), await stat(adminPort, `listener.${listener}.worker_1.downstream_cx_total`)];
  let sent = 0;
  let wrong = 0;
  const end = Date.now() + 30_000;
  for (;;) {
    const rs = await Promise.all([0, 1, 2, 3].map(() => request(port, { path: '/' })));
    sent += rs.length;
    wrong += rs.filter((r) => r.status !== 200 || r.body !== expectBody).length;
    const now = [await stat(adminPort, `listener.${listener}.worker_0.downstream_cx_total`), await stat(adminPort, `listener.${listener}.worker_1.downstream_cx_total`)];
    if (sent >= 20 && now[0] > before[0] && now[1] > before[1]) break;
    if (Date.now() > end) throw new Error(`one worker took every connection: ${JSON.stringify({ before, now, sent })}`);
  }
  return { sent, wrong };
}

async function startStatic(t: TestLike, body: string): Promise<{ proc: Proc; port: number; adminPort: number; listener: string }> {
  const up = await startUpstream(t, ok(body));
  // Istio's metrics on (the istio.stats filter), as in a mesh.
  const istioStats = { name: 'istio.stats', typed_config: { '@type': 'type.googleapis.com/udpa.type.v1.TypedStruct', type_url: 'type.googleapis.com/stats.PluginConfig', value: {} } };
  const router = { name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } };
  const file = writeBootstrap(tempDir(), buildBootstrap({ routes: [route('/', 'c')], clusters: { c: [up.port] }, hcm: { http_filters: [istioStats, router] } }, undefined));
  const proc = run(t, ['--bootstrap', file, '--concurrency', '2', '--drain-time-s', '1']);
  const listening = await until('the listener', () => logged(proc, 'listening'));
  const admin = await until('the admin port', () => logged(proc, 'admin listening'));
  const port = Number(String(listening.address).split(':')[1]);
  return { proc, port, adminPort: Number(String(admin.address).split(':')[1]), listener: `127.0.0.1_${port}` };
}

t.test('static bootstrap, 2 workers: both serve; one set of stats; a killed worker comes back; /drain_listeners and SIGTERM reach every worker', async (t) => {
  const { proc, port, adminPort, listener } = await startStatic(t, 'hello');
  t.equal((logged(proc, 'workers started')!.pids as number[]).length, 2, 'two worker processes');
  const { sent, wrong } = await loadBothWorkers(port, adminPort, listener, 'hello');
  t.equal(wrong, 0, `all ${sent} responses were 200 hello`);
  t.equal(await stat(adminPort, 'http.test.downstream_rq_total'), sent, '/stats: downstream_rq_total is the sum over the workers');
  t.equal(await stat(adminPort, 'http.test.downstream_rq_2xx'), sent);
  t.equal(await stat(adminPort, 'cluster.c.upstream_rq_total'), sent);
  const perWorker = (await stat(adminPort, `listener.${listener}.worker_0.downstream_cx_total`)) + (await stat(adminPort, `listener.${listener}.worker_1.downstream_cx_total`));
  t.equal(perWorker, sent, "the workers' connections add up to the connections opened");
  const prom = await get(adminPort, '/stats/prometheus');
  t.match(prom, new RegExp(`^envoy_http_downstream_rq_total\\{envoy_http_conn_manager_prefix="test"\\} ${sent}$`, 'm'), '/stats/prometheus: the same sum');
  t.match(prom, new RegExp(`^envoy_cluster_upstream_rq_xx\\{envoy_response_code_class="2",envoy_cluster_name="c"\\} ${sent}$`, 'm'));
  t.match(prom, /^envoy_listener_worker_downstream_cx_total\{envoy_listener_address="127\.0\.0\.1_\d+",envoy_worker_id="1"\} [1-9]/m);
  t.match(prom, /^envoy_server_live\{\} 1$/m, "the server's state is the primary's");
  const sum = (re: RegExp): number => [...prom.matchAll(re)].reduce((n, m) => n + Number(m[1]), 0);
  t.equal(sum(/^istio_requests_total\{[^}]*response_code="200"[^}]*\} (\d+)$/gm), sent, "Istio's istio_requests_total: summed over the workers");
  t.equal(sum(/^istio_request_duration_milliseconds_count\{[^}]*\} (\d+)$/gm), sent, "Istio's duration histogram: summed");
  t.equal([...prom.matchAll(/^istio_build\{/gm)].length, 1, 'one istio_build line');
  t.match(await get(adminPort, '/listeners'), new RegExp(`^listener_test::127\\.0\\.0\\.1:${port}$`, 'm'), "/listeners: as the workers bound it");
  t.match(await get(adminPort, '/clusters'), /^c::127\.0\.0\.1:\d+::health_flags::healthy$/m, "/clusters: the primary's view");
  // A killed worker is forked again, takes the current config and serves.
  const pids = logged(proc, 'workers started')!.pids as number[];
  const total = await stat(adminPort, 'http.test.downstream_rq_total');
  const seen = proc.lines().length;
  process.kill(pids[1], 'SIGKILL');
  const exit = await until('the re-fork', () => logged(proc, 'worker exited: forking it again', seen));
  t.equal(exit.worker, 1);
  t.equal(exit.signal, 'SIGKILL');
  const serving = await until('the new worker', () => logged(proc, 'worker serving', seen));
  t.equal(serving.worker, 1);
  t.not(serving.pid, pids[1], 'a new process');
  // Its stats start at zero (the old process took its own with it): any connection counted is the new one's.
  const from = await stat(adminPort, `listener.${listener}.worker_1.downstream_cx_total`);
  t.equal(from, 0, 'the new worker has accepted nothing yet');
  t.equal(await stat(adminPort, 'http.test.downstream_rq_total'), total, "the killed worker's counters (as last scraped) stay in the sum: counters never go down");
  t.equal((await loadBothWorkers(port, adminPort, listener, 'hello')).wrong, 0, 'every response 200');
  t.ok((await stat(adminPort, `listener.${listener}.worker_1.downstream_cx_total`)) > 0, 'the new worker accepts connections');
  // POST /drain_listeners reaches both workers: the shared socket closes once neither accepts.
  t.equal(await post(adminPort, '/drain_listeners'), 200);
  await until('the listener to close in both workers', async () => (await connects(port)) === false);
  t.pass('new connections are refused');
  t.match(await get(adminPort, '/ready'), /^LIVE/, 'the admin API still answers');
  const all = [pids[0], serving.pid as number];
  proc.child.kill('SIGTERM');
  t.equal(await proc.exited, 0, 'the primary exits 0');
  await until('the workers to exit', () =>
    all.every((pid) => {
      try {
        process.kill(pid, 0);
        return false;
      } catch {
        return true;
      }
    }),
  );
  t.pass('no worker is left');
  t.equal(proc.lines().filter((l) => l.msg === 'worker exited: forking it again').length, 1, 'no worker forked again during shutdown');
});

t.test('xDS mode, 2 workers: a pushed route change is followed by both workers', async (t) => {
  const a = await startUpstream(t, ok('from-a'));
  const b = await startUpstream(t, ok('from-b'));
  const cache = new SnapshotCache();
  const server = new XdsServer({ cache });
  const xdsPort = await server.listen('127.0.0.1', 0);
  t.teardown(() => server.close(100));
  const proc = run(t, ['--xds', `127.0.0.1:${xdsPort}`, '--node-id', NODE, '--node-cluster', 'conc.default', '--concurrency', '2', '--admin-port', '0', '--health-port', 'off', '--prometheus-ports', 'off', '--agent-port', 'off', '--ca-token-file', 'off', '--drain-time-s', '1']);
  const adminPort = Number(String((await until('the admin port', () => logged(proc, 'admin listening'))).address).split(':')[1]);
  const acked = (version: string) => () => {
    const st = server.syncStatus()[0]?.types[TYPE_URL.RouteConfiguration];
    return st?.ackedVersion === version && syncState(st) === 'SYNCED';
  };
  cache.setSnapshot(NODE, oneRouteSnapshot('v1', 'a', a.port));
  await until('v1 acked', acked('v1'));
  const listeners = await get(adminPort, '/listeners');
  const port = Number(new RegExp(`^${LISTENER_NAME}::127\\.0\\.0\\.1:(\\d+)$`, 'm').exec(listeners)?.[1]);
  t.ok(port > 0, `the workers' listener: ${listeners.trim()}`);
  t.equal((await loadBothWorkers(port, adminPort, `127.0.0.1_${port}`, 'from-a')).wrong, 0, 'v1: every response from a');
  // v2 sends / to b. It is ACKed once both workers applied it.
  cache.setSnapshot(NODE, oneRouteSnapshot('v2', 'b', b.port));
  await until('v2 acked', acked('v2'));
  const aBefore = a.requests.length;
  const { sent, wrong } = await loadBothWorkers(port, adminPort, `127.0.0.1_${port}`, 'from-b');
  t.equal(wrong, 0, `v2: all ${sent} responses from b, through both workers`);
  t.equal(a.requests.length, aBefore, 'no request reached the old route after the push');
  t.ok(b.requests.length >= sent, 'every request after the push went to b');
  t.equal(await post(adminPort, '/quitquitquit'), 200);
  t.equal(await proc.exited, 0, '/quitquitquit: drained and exited');
  await until('the listener to close', async () => (await connects(port)) === false);
  t.pass('no worker serves after /quitquitquit');
});

t.test('one process (the default): POST /drain_listeners?inboundonly leaves an outbound listener; POST /drain_listeners closes it', async (t) => {
  const up = await startUpstream(t, ok('one'));
  const p = await startTestProxy(t, { routes: [route('/', 'c')], clusters: { c: [up.port] }, listener: { traffic_direction: 'OUTBOUND' } });
  t.equal(await post(p.adminPort, '/drain_listeners?inboundonly'), 200);
  t.equal((await p.request()).body, 'one', 'the outbound listener still serves');
  t.equal((await request(p.adminPort, { path: '/drain_listeners' })).status, 405, 'POST only');
  t.equal(await post(p.adminPort, '/drain_listeners'), 200);
  await until('the listener to close', async () => (await connects(p.port)) === false);
  t.pass('closed');
});

t.test('2 workers: a listener that cannot bind stops the start, naming the listener, exit 1', async (t) => {
  const taken = net.createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  t.teardown(() => taken.close());
  const busy = (taken.address() as net.AddressInfo).port;
  const file = writeBootstrap(tempDir(), buildBootstrap({ routes: [route('/', 'c')], clusters: { c: [busy] } }, undefined, busy));
  const proc = run(t, ['--bootstrap', file, '--concurrency', '2', '--drain-time-s', '1']);
  t.equal(await proc.exited, 1);
  t.match(proc.text(), new RegExp(`minimesh proxy: listener listener_test: cannot listen on 127\\.0\\.0\\.1:${busy}: .*EADDRINUSE`));
});

t.test('--concurrency: 1 by default (one process); 0 is one per core; bad values named', async (t) => {
  const c = (args: string[]) => {
    const o = parseProxyArgs(['--bootstrap', 'b.yaml', ...args]);
    return o === 'help' ? 'help' : o.concurrency;
  };
  t.equal(c([]), undefined, 'no workers: the proxy runs in its own process, as before');
  t.equal(c(['--concurrency', '1']), undefined);
  t.equal(c(['--concurrency', '2']), 2);
  t.equal(c(['--concurrency', '0']), 0);
  const x = parseProxyArgs(['--xds', 'h:1', '--concurrency', '2']);
  t.equal(x !== 'help' && x.xds?.concurrency, 2, 'xDS mode too');
  for (const bad of ['two', '-1', '1.5', '', '129']) t.throws(() => parseProxyArgs(['--bootstrap', 'b.yaml', `--concurrency=${bad}`]), /--concurrency: expected a number of workers from 0 \(one per core\) to 128/, JSON.stringify(bad));
});
