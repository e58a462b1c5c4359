import t from 'tap';
import { PROXY_NODE_FLAGS } from '@minimesh/mesh';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type Server } from 'node:http';
import { prepareBase, pruneBaseBuilds } from '../src/base-build.js';
import { buildOrder } from '../src/compare-run.js';
import { compare, comparisonTable, noiseNote, oneHopVerdict, type CompareRun } from '../src/compare-table.js';
import { selfTimes } from '../src/cpuprofile.js';
import { resolveRevision } from '../src/git.js';
import { parseOptions } from '../src/options.js';
import { distProgram, repoRoot } from '../src/paths.js';
import { freePorts } from '../src/ports.js';
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
  const c = parseOptions(['--only', 'pump,proxy1', '--concurrency', '2', '--proxy-cpus', '0,1']);
  if (c === 'help') throw new Error('unexpected help');
  t.same(c.only, ['proxy1', 'pump']);
  t.equal(c.concurrency, 2);
  t.equal(c.cpuProxy, '0,1');
  t.equal(d.concurrency, null, 'the proxy\'s own default');
  t.throws(() => parseOptions(['--proxy-cpus', 'both']), /CPU list/);
  t.throws(() => parseOptions(['--concurrency', '0']), /positive integer/);
  t.equal(parseOptions(['--help']), 'help');
});

t.test('bootstrap has the three ports in order', async (t) => {
  const y = bootstrapYaml('x', { admin: 1, listen: 2, next: 3 });
  t.same([...y.matchAll(/port_value: (\d+)/g)].map((m) => Number(m[1])), [1, 2, 3]);
  t.match(y, /envoy\.filters\.network\.http_connection_manager/);
  t.match(y, /type: STATIC/);
});

t.test('free ports asked together are distinct', async (t) => {
  const ports = await freePorts(20);
  t.equal(new Set(ports).size, 20);
});

t.test('with metrics on, the bootstrap carries Istio\'s filters before the router', async (t) => {
  t.notMatch(bootstrapYaml('x', { admin: 1, listen: 2, next: 3 }), /istio/, 'none by default');
  const server = bootstrapYaml('x', { admin: 1, listen: 2, next: 3 }, 'SERVER');
  const names = [...server.matchAll(/- name: (\S+)/g)].map((m) => m[1]).filter((n) => n.includes('.http.') || n.startsWith('istio.'));
  t.same(names, ['istio.metadata_exchange', 'istio.stats', 'envoy.filters.http.router']);
  t.match(server, /traffic_direction: INBOUND/);
  t.match(server, /downstream_discovery:/);
  t.match(server, /disable_host_header_fallback: true/);
  t.match(server, /WORKLOAD_NAME: x\n/);
  const client = bootstrapYaml('x', { admin: 1, listen: 2, next: 3 }, 'CLIENT');
  t.match(client, /traffic_direction: OUTBOUND/);
  t.match(client, /upstream_propagation:/);
  t.same([...client.matchAll(/port_value: (\d+)/g)].map((m) => Number(m[1])), [1, 2, 3]);
});

/** a scenario run with the given figures (throughput from autocannon, latency from the steady load) */
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

t.test('medians, ratios and targets', async (t) => {
  t.equal(median([3, 1, 2]), 2);
  t.equal(median([4, 1, 2, 3]), 2.5);
  const s = summarize(
    [run('direct', 10000, 0.1, 0.5, null, []), run('proxy1', 4500, 0.2, 1.0, 0.2, [50 * 1024]), run('proxy2', 1500, 0.5, 1.5, 0.7, [40 * 1024, 90 * 1024])],
    ['direct', 'proxy1', 'proxy2'],
  );
  t.equal(s[1].ratioToDirect, 0.45);
  t.equal(s[2].peakRssMb, 90);
  t.equal(s[2].peakRssSumMb, 130, 'the sum over a run\'s processes (a proxy\'s primary and workers)');
  t.equal(s[2].processes, 2);
  const starved = run('proxy1', 100, 0, 0, null, []);
  if (starved.steady !== null) starved.steady.result.completed = 0; // an empty histogram reads 0 ms
  t.equal(summarize([starved], ['proxy1'])[0].p50, null, 'no latency from a steady load with nothing completed');
  const checks = checkTargets(s);
  const pass = (scenario: string, what: RegExp): boolean | null => checks.find((c) => c.scenario === scenario && what.test(c.what))?.pass ?? null;
  t.equal(pass('proxy1', /req\/s/), true);
  t.equal(pass('proxy2', /req\/s/), false, '0.15 < 0.28');
  t.equal(pass('proxy1', /CPU-s/), true);
  t.equal(pass('proxy2', /CPU-s/), false, '0.35 per hop');
  t.equal(pass('proxy1', /p50/), true, '+0.1 ms');
  t.equal(pass('proxy2', /p50/), false, '+0.2 ms per hop');
  t.equal(pass('proxy2', /p99/), true, '+0.5 ms per hop');
  t.equal(pass('proxy2', /peak RSS/), false);
  t.equal(pass('proxy1', /idle RSS/), null, 'no idle reading: not judged');
  const idle = run('proxy1', 4500, 0.2, 1.0, 0.2, [50 * 1024]);
  idle.idleRss = [{ pid: 1, kb: 58 * 1024 }];
  if (idle.steady !== null) idle.steady.cpuSPer10k = 0.5;
  const c2 = checkTargets(summarize([run('direct', 10000, 0.1, 0.5, null, []), idle], ['direct', 'proxy1']));
  t.equal(c2.find((c) => /idle RSS/.test(c.what))?.pass, false, '58 MB > 55');
  const steady = c2.find((c) => /vCPU per 1,000/.test(c.what));
  t.equal(steady?.value, 0.05, '0.5 CPU-s per 10k = 0.05 vCPU per 1,000 req/s');
  t.equal(steady?.pass, true);
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

t.test('--base options', async (t) => {
  const b = parseOptions(['--base', 'HEAD~3', '--quick']);
  if (b === 'help') throw new Error('unexpected help');
  t.equal(b.base, 'HEAD~3');
  t.same(b.only, ['proxy1', 'proxy2'], 'the proxy scenarios by default');
  const one = parseOptions(['--base', 'main', '--only', 'proxy1']);
  t.same(one !== 'help' && one.only, ['proxy1']);
  t.throws(() => parseOptions(['--base', 'main', '--only', 'direct,proxy1']), /proxy1,proxy2 only; drop direct/);
  t.throws(() => parseOptions(['--base', 'main', '--proxy-cmd', 'standin']), /does not go with --proxy-cmd/);
  t.throws(() => parseOptions(['--base']), /needs a value/);
  const plain = parseOptions([]);
  t.equal(plain !== 'help' && plain.base, null, 'no comparison unless asked');
  t.equal(plain !== 'help' && plain.metrics, false, 'metrics off unless asked');
  const m = parseOptions(['--base', 'main', '--metrics']);
  t.equal(m !== 'help' && m.metrics, true);
});

t.test('builds alternate which goes first, repetition by repetition', async (t) => {
  t.same([1, 2, 3, 4].map(buildOrder), [['base', 'current'], ['current', 'base'], ['base', 'current'], ['current', 'base']]);
});

t.test('base vs current: medians, ratios, table and verdict', async (t) => {
  const sample = (build: CompareRun['build'], rep: number, rps: number): CompareRun => ({ ...run('proxy1', rps, 0.2, 1, 0.4, [70 * 1024]), rep, build });
  const runs = [sample('base', 1, 10_000), sample('current', 1, 9_000), sample('current', 2, 9_800), sample('base', 2, 10_000), sample('base', 3, 12_000), sample('current', 3, 9_700)];
  const summary = (build: CompareRun['build']) => summarize(runs.filter((r) => r.build === build), ['proxy1']);
  const rows = compare(summary('base'), summary('current'), runs);
  t.equal(rows.length, 1);
  t.equal(rows[0].base.rps, 10_000, 'median of the base samples');
  t.equal(rows[0].current.rps, 9_700, 'median of the current samples');
  t.equal(rows[0].rpsRatio, 0.97);
  t.same(rows[0].sampleRatios.map((x) => x?.toFixed(3)), ['0.900', '0.980', '0.808'], 'paired by repetition');
  const table = comparisonTable(rows);
  t.match(table, /base req\/s\s+current req\/s\s+current\/base/);
  t.match(table, /1 proxy\s+10,000\s+9,700\s+0\.970/);
  t.equal(oneHopVerdict(rows)?.line, '1 proxy: current/base req/s = 0.97 (≥ 0.95 ✓)');
  t.equal(oneHopVerdict(rows, 0.98)?.pass, false);
  t.match(noiseNote(rows[0]) ?? '', /spread over 19 %/, 'samples 0.81–0.98 cannot resolve 5 %');
  t.equal(noiseNote({ ...rows[0], sampleRatios: [0.99, 1.01, 1.0] }), null, 'a 2 % spread can');
  const slower = compare(summary('base'), summarize([sample('current', 1, 9_000)], ['proxy1']), runs);
  t.equal(oneHopVerdict(slower)?.line, '1 proxy: current/base req/s = 0.90 (≥ 0.95 ✗)');
  t.equal(oneHopVerdict(compare(summarize(runs, ['proxy2']), summarize(runs, ['proxy2']), runs)), null, 'no verdict without 1 proxy');
});

t.test('--base with something that is not a revision fails naming it', async (t) => {
  await t.rejects(prepareBase('no-such-rev-xyz', () => {}), /--base no-such-rev-xyz: "no-such-rev-xyz" is not a git revision/);
});

t.test('only the most recently used base builds are kept', async (t) => {
  const cache = mkdtempSync(join(tmpdir(), 'minimesh-bench-test-'));
  t.teardown(() => rmSync(cache, { recursive: true, force: true }));
  const names = ['aaaaaaaaaaaa', 'bbbbbbbbbbbb', 'cccccccccccc', 'dddddddddddd'].map((h) => `base-${h}`);
  names.forEach((n, i) => {
    mkdirSync(join(cache, n));
    writeFileSync(join(cache, n, '.minimesh-bench-built.json'), '{}');
    const used = new Date(Date.now() - (10 - i) * 60_000); // aaaa… least recently used
    utimesSync(join(cache, n, '.minimesh-bench-built.json'), used, used);
  });
  mkdirSync(join(cache, 'unrelated'));
  const lines: string[] = [];
  pruneBaseBuilds(cache, (l) => lines.push(l), 2);
  t.same(readdirSync(cache).sort(), ['base-cccccccccccc', 'base-dddddddddddd', 'unrelated']);
  t.equal(lines.length, 2, 'each removal is logged');
});

/** run `npm run bench -- ARGS` (the compiled run.js) and collect its output */
function bench(args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const p = spawn(process.execPath, [distProgram('run'), ...args], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    p.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    p.on('close', (code) => done({ code, stdout, stderr }));
  });
}

const head = resolveRevision('HEAD');
const e2eSkip = head === null ? 'needs a git checkout' : !existsSync('/proc/self/stat') ? 'needs Linux /proc' : false;
// the first run after a commit builds HEAD in its worktree (a minute, more on a busy machine); later
// runs reuse it. The root test's timeout is the whole file's: tap's runner is told to wait longer.
if (e2eSkip === false) t.setTimeout(600_000);

t.test('--base HEAD runs both builds interleaved and prints base vs current', { skip: e2eSkip }, async (t) => {
  if (head === null) return;
  const bad = await bench(['--base', 'no-such-rev-xyz', '--quick']);
  t.equal(bad.code, 2);
  t.match(bad.stderr, /no-such-rev-xyz/, 'the message names the revision');

  const r = await bench(['--base', 'HEAD', '--only', 'proxy1', '--quick', '--duration', '1', '--no-wrk', '--metrics']);
  if (!t.ok(r.code === 0 || r.code === 3, 'exit 0, or 3 when the (noisy, 1-second) verdict missed')) t.comment(`exit ${r.code}\n${r.stdout.slice(-3000)}\n${r.stderr}`);
  const steps = [...r.stdout.matchAll(/step \d\/2 · repetition 1\/1 · 1 proxy · (base|current)/g)].map((m) => m[1]);
  t.same(steps, ['base', 'current'], 'base, then current, in the same run');
  t.match(r.stdout, new RegExp(`base: HEAD = ${head.slice(0, 7)}`));
  t.match(r.stdout, /base req\/s\s+current req\/s\s+current\/base/, 'the table has both columns and the ratio');
  t.match(r.stdout, /\n1 proxy\s+[\d,]+\s+[\d,]+\s+\d+\.\d{3}\s/, 'a row with two req/s figures and a ratio');
  const verdict = /1 proxy: current\/base req\/s = \d+\.\d\d \(≥ 0\.95 [✓✗]\) · metrics: base (on|off), current (on|off)/.exec(r.stdout);
  t.ok(verdict, 'the verdict line, with metrics on or off per build');
  t.equal(verdict?.[1], verdict?.[2], 'the same code records metrics in both builds, or in neither');

  const file = /full results: (\S+\.json)/.exec(r.stdout)?.[1];
  if (file === undefined) return t.fail('no results file named');
  t.teardown(() => rmSync(file, { force: true }));
  const json = JSON.parse(readFileSync(file, 'utf8')) as { base: { sha: string; root: string }; runs: CompareRun[] };
  t.equal(json.base.sha, head);
  for (const build of ['base', 'current'] as const) {
    const mine = json.runs.filter((x) => x.build === build);
    t.equal(mine.length, 1);
    t.ok((mine[0].throughput?.result.requests ?? 0) > 0, `the ${build} build served requests`);
    t.ok((mine[0].steady?.result.completedTotal ?? 0) > 0, `the ${build} build served the steady load`);
  }
  t.ok(existsSync(`${json.base.root}/packages/cli/dist/src/main.js`), 'the base was built in its own worktree');
});
