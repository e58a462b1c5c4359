// The h2 and gRPC rows: h2load's output and log parsed, the options, the bootstrap of an HTTP/2
// hop, the table; and both loads run for real through one real minimesh proxy.
import t, { type Test } from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { h2loadResult, h2loadVersion, latenciesFromLog, parseH2loadOutput, runH2load, H2LOAD_INSTALL_HINT } from '../src/h2load.js';
import { runGrpc } from '../src/loads.js';
import { parseOptions } from '../src/options.js';
import { distProgram, repoRoot } from '../src/paths.js';
import { firstJsonLine, spawnPinned, stop } from '../src/processes.js';
import { protocolSection, protocolTable } from '../src/protocol-table.js';
import { summarizeProtocolRuns, type ProtocolRun } from '../src/protocol-run.js';
import { scenariosFor } from '../src/protocols.js';
import { bootstrapYaml, proxyCommand, startProxy } from '../src/proxy.js';
import { latencySummary, percentile } from '../src/stats.js';

const H2LOAD_OUTPUT = `starting benchmark...
spawning thread #0: 2 total client(s). Timing-based test with 0.5s of warm-up time and 1s of main duration for measurements.
Application protocol: h2c

finished in 1.50s, 16550.00 req/s, 743.50KB/s
requests: 16560 total, 16560 started, 16560 done, 16550 succeeded, 10 failed, 2 errored, 1 timeout
status codes: 16550 2xx, 0 3xx, 3 4xx, 4 5xx
traffic: 743.50KB (761346) total, 146.54KB (150058) headers (space savings 90.11%), 365.98KB (374760) data
                     min         max         mean         sd        +/- sd
time for request:       61us      7.48ms       229us       268us    97.79%
`;

t.test('h2load output and its per-request log are parsed', async (t) => {
  const s = parseH2loadOutput(H2LOAD_OUTPUT);
  t.equal(s.rps, 16550);
  t.equal(s.durationS, 1.5, '"finished in" counts the warm-up too');
  t.equal(s.succeeded, 16550);
  t.equal(s.non2xx, 7);
  const log = ['1796552904384283\t200\t1766', '1796552904384283\t200\t250', '1796552904384186\t200\t500', '1796552904384186\t200\t1000', '179655290438'].join('\n');
  t.same(latenciesFromLog(log), [1.766, 0.25, 0.5, 1], 'µs to ms; a truncated last row is left out');
  const r = h2loadResult(H2LOAD_OUTPUT, log, 1);
  t.equal(r.tool, 'h2load');
  t.equal(r.durationS, 1, 'the measured duration asked for');
  t.equal(r.requests, 16550);
  t.equal(r.errors, 3, 'errored + timed out');
  t.equal(r.latencyMs.p50, 0.5);
  t.equal(r.latencyMs.max, 1.766);
  t.throws(() => parseH2loadOutput('connect: Connection refused'), /could not parse h2load output/);
  t.throws(() => h2loadResult(H2LOAD_OUTPUT.replace('16550 succeeded', '0 succeeded'), ''), /no request succeeded/);
});

t.test('percentiles by nearest rank', async (t) => {
  const xs = Array.from({ length: 100 }, (_, i) => 100 - i); // 100 … 1
  t.same(latencySummary(xs), { p50: 50, p90: 90, p99: 99, max: 100 });
  t.equal(percentile(Float64Array.from([7]), 99), 7);
  t.ok(Number.isNaN(percentile([], 50)));
});

t.test('--protocols picks the rows; nginx only in HTTP/1.1; --base stays HTTP/1.1', async (t) => {
  const d = parseOptions(['--quick']);
  if (d === 'help') throw new Error('unexpected help');
  t.same(d.protocols, ['http1', 'h2', 'grpc'], 'all three by default');
  t.same(scenariosFor('h2', d.only), ['direct', 'proxy1', 'proxy2', 'proxy2-mtls']);
  t.same(scenariosFor('http1', d.only), ['direct', 'proxy1', 'proxy2', 'proxy2-mtls', 'nginx', 'pump'], 'the byte pump (the floor) in HTTP/1.1 only');
  const p = parseOptions(['--protocols', 'grpc,h2']);
  t.same(p !== 'help' && p.protocols, ['h2', 'grpc'], 'canonical order');
  t.throws(() => parseOptions(['--protocols', 'h3']), /--protocols: unknown protocol "h3" \(known: http1, h2, grpc\)/);
  t.throws(() => parseOptions(['--protocols', ',']), /needs at least one/);
  const b = parseOptions(['--base', 'main']);
  t.same(b !== 'help' && b.protocols, ['http1'], '--base compares the HTTP/1.1 row');
  t.throws(() => parseOptions(['--base', 'main', '--protocols', 'http1,h2']), /HTTP\/1\.1 row only; drop h2,grpc/);
});

t.test('an HTTP/2 hop: codec AUTO downstream, HTTP/2 to the next hop; the HTTP/1.1 bootstrap unchanged', async (t) => {
  const h2 = bootstrapYaml('x', { admin: 1, listen: 2, next: 3 }, null, true);
  t.match(h2, /codec_type: AUTO/);
  t.match(h2, /envoy\.extensions\.upstreams\.http\.v3\.HttpProtocolOptions:\n\s+"@type": type\.googleapis\.com\/envoy\.extensions\.upstreams\.http\.v3\.HttpProtocolOptions\n\s+explicit_http_config:\n\s+http2_protocol_options: \{\}/);
  t.same([...h2.matchAll(/port_value: (\d+)/g)].map((m) => Number(m[1])), [1, 2, 3]);
  t.notMatch(bootstrapYaml('x', { admin: 1, listen: 2, next: 3 }), /codec_type|typed_extension_protocol_options/);
});

const load = (protocol: ProtocolRun['protocol'], scenario: ProtocolRun['scenario'], rps: number, cpu: number | null): ProtocolRun => ({
  protocol,
  scenario,
  rep: 1,
  error: null,
  load: { result: { tool: 'h2load', rps, requests: rps, durationS: 1, latencyMs: { p50: 0.5, p90: 1, p99: 2, max: 3 }, errors: 0, non2xx: 0 }, cpuS: null, cpuSPer10k: cpu, upstreamCpuSPer10k: null },
  peakRss: cpu === null ? [] : [{ pid: 1, kb: 40 * 1024 }],
});

t.test('the protocols table', async (t) => {
  const runs = [load('h2', 'direct', 20_000, null), load('h2', 'proxy1', 8_000, 0.5), load('grpc', 'direct', 6_000, null), { ...load('grpc', 'proxy1', 0, null), error: 'setup failed', load: null }];
  const h2 = summarizeProtocolRuns(runs, 'h2', ['direct', 'proxy1']);
  t.equal(h2[1].ratioToDirect, 0.4);
  t.equal(h2[1].peakRssMb, 40);
  const grpc = summarizeProtocolRuns(runs, 'grpc', ['direct', 'proxy1']);
  t.equal(grpc[1].okRuns, 0);
  const table = protocolTable([...h2, ...grpc]);
  t.match(table, /protocol\s+scenario\s+req\/s\s+p50 ms\s+p99 ms\s+CPU-s\/10k\s+peak RSS MB\s+× direct/);
  t.match(table, /\nh2\s+1 proxy\s+8,000\s+0\.500\s+2\.000\s+0\.500\s+40\.0\s+0\.40/);
  t.match(table, /\ngRPC\s+1 proxy \(failed\)\s+-/);
  t.match(protocolSection({ throughputConnections: 50, muxConnections: 10, muxStreams: 5 }, h2).join('\n'), /nginx is HTTP\/1\.1 only/);
});

// ---- for real: the upstreams, one minimesh proxy speaking HTTP/2 upstream, the loads through it
const cpuUnderTest = '0';
const cpuLoad = availableParallelism() >= 2 ? '1' : '0';

async function upstream(t: Test, program: string): Promise<number> {
  const p = spawnPinned(cpuUnderTest, process.execPath, [distProgram(program)]);
  t.teardown(() => stop(p));
  return (await firstJsonLine<{ port: number }>(p, 10_000)).port;
}

async function oneProxy(t: Test, upstreamPort: number): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'minimesh-bench-protocols-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const p = await startProxy(proxyCommand(repoRoot), cpuUnderTest, dir, 'proxy', upstreamPort, null, null, true);
  t.teardown(() => p.stop());
  return p.ports.listen;
}

function saneLatency(t: Test, r: { latencyMs: { p50: number; p99: number; max: number } }): void {
  t.ok(r.latencyMs.p50 > 0, `p50 ${r.latencyMs.p50} ms > 0`);
  t.ok(r.latencyMs.p50 <= r.latencyMs.p99 && r.latencyMs.p99 <= r.latencyMs.max, `p50 ≤ p99 ≤ max (${r.latencyMs.p50}, ${r.latencyMs.p99}, ${r.latencyMs.max})`);
  t.ok(r.latencyMs.p99 < 5000, 'p99 under 5 s');
}

const noH2load = h2loadVersion() === null ? `h2load is not installed (${H2LOAD_INSTALL_HINT})` : false;
if (noH2load !== false && process.env.CI === 'true') t.fail(`${noH2load}, and CI installs it (.ci/run)`);

t.test('h2load through one minimesh proxy: h2c in, HTTP/2 to the upstream', { skip: noH2load, timeout: 120_000 }, async (t) => {
  const port = await oneProxy(t, await upstream(t, 'upstream-h2'));
  const dir = mkdtempSync(join(tmpdir(), 'minimesh-bench-h2load-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const r = await runH2load(cpuLoad, port, 2, 4, 1, join(dir, 'h2load.log'));
  t.ok(r.rps > 0, `${Math.round(r.rps)} req/s`);
  t.ok(r.requests > 100, `${r.requests} requests succeeded`);
  t.equal(r.errors + r.non2xx, 0, 'no errors, every answer 2xx');
  saneLatency(t, r);
});

t.test('grpc-js unary calls through one minimesh proxy', { timeout: 120_000 }, async (t) => {
  const port = await oneProxy(t, await upstream(t, 'upstream-grpc'));
  const r = await runGrpc(cpuLoad, port, 8, 2, 1, 0.3);
  t.equal(r.tool, 'grpc-js');
  t.ok(r.rps > 0, `${Math.round(r.rps)} calls/s`);
  t.ok(r.requests > 50, `${r.requests} calls succeeded`);
  t.equal(r.errors, 0, 'no call failed');
  saneLatency(t, r);
});

t.test('a gRPC load against nothing fails saying so', { timeout: 60_000 }, async (t) => {
  await t.rejects(runGrpc(cpuLoad, 1, 2, 1, 0.3), /grpc-load\.js --port 1 .*exited with 1/, 'it exits 1 (its stderr says: no gRPC call succeeded)');
});
