import t from 'tap';
import { PROXY_NODE_FLAGS } from '@minimesh/mesh';
import { createServer, type Server } from 'node:http';
import { selfTimes } from '../src/cpuprofile.js';
import { parseOptions } from '../src/options.js';
import { bootstrapYaml } from '../src/proxy.js';
import { summarize, type ScenarioRun } from '../src/results.js';
import { median } from '../src/stats.js';
import { runSteadyLoad } from '../src/steady-load.js';
import { checkTargets } from '../src/targets.js';
import { parseWrk, wrkDurationMs } from '../src/wrk.js';

const WRK_OUTPUT = `Running 2s test @ http://127.0.0.1:18080/
  1 threads and 50 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     3.02ms   11.09ms 154.48ms   97.62%
    Req/Sec    34.91k     9.41k   41.14k    90.00%
  Latency Distribution
     50%  850.00us
     75%    1.43ms
     90%    2.22ms
     99%   68.17ms
  69312 requests in 2.00s, 11.30MB read
  Non-2xx or 3xx responses: 7
Requests/sec:  34635.20
Transfer/sec:      5.65MB
`;

t.test('wrk output is parsed', async (t) => {
  t.equal(wrkDurationMs('850.00us'), 0.85);
  t.equal(wrkDurationMs('1.50s'), 1500);
  const r = parseWrk(WRK_OUTPUT);
  t.equal(r.rps, 34635.2);
  t.equal(r.requests, 69312);
  t.equal(r.durationS, 2);
  t.equal(r.latencyMs.p50, 0.85);
  t.equal(r.latencyMs.p99, 68.17);
  t.equal(r.latencyMs.max, 154.48);
  t.equal(r.non2xx, 7);
  t.equal(r.errors, 0);
});

t.test('options', async (t) => {
  const q = parseOptions(['--quick', '--only', 'proxy1,direct']);
  if (q === 'help') throw new Error('unexpected help');
  t.equal(q.reps, 1);
  t.equal(q.loadS, 3);
  t.same(q.only, ['direct', 'proxy1'], 'kept in the canonical order');
  const d = parseOptions([]);
  if (d === 'help') throw new Error('unexpected help');
  t.equal(d.reps, 3);
  t.equal(d.loadS, 10);
  t.match(d.proxyCmd[d.proxyCmd.length - 1], /packages\/cli\/bin\/minimesh\.js$/, 'the real proxy by default');
  t.same(d.proxyCmd.slice(1, -1), PROXY_NODE_FLAGS, 'with the node flags every proxy runs with');
  t.throws(() => parseOptions(['--only', 'nope']));
  t.equal(parseOptions(['--help']), 'help');
});

t.test('bootstrap has the three ports in order', async (t) => {
  const y = bootstrapYaml('x', { admin: 1, listen: 2, next: 3 });
  t.same([...y.matchAll(/port_value: (\d+)/g)].map((m) => Number(m[1])), [1, 2, 3]);
  t.match(y, /envoy\.filters\.network\.http_connection_manager/);
  t.match(y, /type: STATIC/);
});

t.test('medians, ratios and targets', async (t) => {
  t.equal(median([3, 1, 2]), 2);
  t.equal(median([4, 1, 2, 3]), 2.5);
  const run = (scenario: ScenarioRun['scenario'], rps: number, p50: number, p99: number, cpu: number | null, kb: number[]): ScenarioRun => ({
    scenario,
    rep: 1,
    error: null,
    throughput: {
      result: { tool: 'autocannon', rps, requests: rps * 10, durationS: 10, latencyMs: { p50: 1, p90: 1, p99: 1, max: 1 }, errors: 0, non2xx: 0 },
      cpuS: null,
      cpuSPer10k: cpu,
      upstreamCpuSPer10k: null,
    },
    wrk: null,
    steady: {
      result: {
        rate: 2000, connections: 10, durationS: 10, warmupS: 1, scheduled: 1, completed: 1, completedTotal: 1, non2xx: 0, errors: 0,
        incomplete: 0, reconnects: 0, achievedRps: 2000,
        latencyMs: { p50, p90: p50, p99, p999: p99, max: p99, mean: p50 },
        sendLagMs: { p50: 0, p99: 0, max: 0 },
      },
      cpuS: null,
      cpuSPer10k: null,
      upstreamCpuSPer10k: null,
    },
    peakRss: kb.map((k, i) => ({ pid: i + 1, kb: k })),
  });
  const s = summarize(
    [run('direct', 10000, 0.1, 0.5, null, []), run('proxy1', 4000, 0.2, 1.0, 0.2, [50 * 1024]), run('proxy2', 1500, 0.5, 1.5, 0.6, [40 * 1024, 90 * 1024])],
    ['direct', 'proxy1', 'proxy2'],
  );
  t.equal(s[1].ratioToDirect, 0.4);
  t.equal(s[2].peakRssMb, 90);
  const checks = checkTargets(s);
  const pass = (scenario: string, what: RegExp): boolean | null => checks.find((c) => c.scenario === scenario && what.test(c.what))?.pass ?? null;
  t.equal(pass('proxy1', /req\/s/), true);
  t.equal(pass('proxy2', /req\/s/), false, '0.15 < 0.2');
  t.equal(pass('proxy1', /CPU/), true);
  t.equal(pass('proxy2', /CPU/), false, '0.3 per hop');
  t.equal(pass('proxy1', /p50/), true, '+0.1 ms');
  t.equal(pass('proxy2', /p50/), false, '+0.2 ms per hop');
  t.equal(pass('proxy2', /p99/), true, '+0.5 ms per hop');
  t.equal(pass('proxy2', /RSS/), false);
});

t.test('cpuprofile self time', async (t) => {
  const frame = (functionName: string, lineNumber: number) => ({ functionName, url: '/x/a.js', lineNumber, columnNumber: 0 });
  const { rows, totalMs } = selfTimes({
    nodes: [
      { id: 1, callFrame: frame('(root)', -1), children: [2, 3] },
      { id: 2, callFrame: frame('hot', 9), children: [] },
      { id: 3, callFrame: frame('cold', 19), children: [] },
    ],
    startTime: 0,
    endTime: 4000,
    samples: [2, 2, 3, 2],
    timeDeltas: [0, 1000, 1000, 1000],
  });
  t.equal(totalMs, 3);
  t.equal(rows[0].name, 'hot');
  t.equal(rows[0].location, 'a.js:10');
  t.equal(rows[0].selfMs, 2);
  t.equal(rows[1].name, 'cold');
});

function listen(server: Server): Promise<number> {
  return new Promise((r) => server.listen(0, '127.0.0.1', () => r((server.address() as { port: number }).port)));
}

t.test('steady load counts Content-Length and chunked responses', async (t) => {
  let n = 0;
  const server = createServer((_req, res) => {
    n++;
    if (n % 2 === 0) {
      res.writeHead(200, { 'content-length': '20' });
      res.end('hello from upstream\n');
    } else {
      res.writeHead(n % 3 === 0 ? 503 : 200); // no length: chunked
      res.write('hello ');
      res.end('chunked\n');
    }
  });
  const port = await listen(server);
  t.teardown(() => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }));
  const r = await runSteadyLoad({ host: '127.0.0.1', port, rate: 500, connections: 4, durationS: 0.5, warmupS: 0.1, path: '/' });
  t.equal(r.scheduled, 250);
  t.equal(r.completed, 250);
  t.equal(r.completedTotal, 300);
  t.equal(r.errors, 0);
  t.equal(r.incomplete, 0);
  t.ok(r.non2xx > 0, 'non-2xx answers counted');
  t.ok(r.latencyMs.p50 > 0 && r.latencyMs.p50 < 50, `p50 ${r.latencyMs.p50} ms`);
  t.ok(r.latencyMs.max >= r.latencyMs.p99);
});
