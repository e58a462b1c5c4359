// "2 proxies, mTLS": the certificates the bench makes, the two sidecars' bootstraps, the handshake
// counters and the report; then two real minimesh proxies with mutual TLS between them, by hand
// and through a quick `npm run bench` run.
import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeMeshCerts, type MeshCertFiles } from '../src/mesh-certs.js';
import { mtlsComparisons, mtlsSection, totalReuse } from '../src/mtls-table.js';
import { parseOptions } from '../src/options.js';
import { distProgram, repoRoot } from '../src/paths.js';
import { firstJsonLine, spawnPinned, stop } from '../src/processes.js';
import { h2loadVersion } from '../src/h2load.js';
import type { ProtocolRun } from '../src/protocol-run.js';
import { scenariosFor } from '../src/protocols.js';
import { bootstrapYaml, proxyCommand } from '../src/proxy.js';
import type { ScenarioRun } from '../src/results.js';
import { setUp } from '../src/scenarios.js';
import { parseStatsText, reuseNote, tlsReuse, type TlsReuse } from '../src/tls-reuse.js';

function tempDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'minimesh-bench-mtls-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

t.test('the bench makes a root and two SPIFFE workload certificates chaining to it', async (t) => {
  const c = await writeMeshCerts(tempDir(t));
  const root = new X509Certificate(readFileSync(c.root));
  t.ok(root.ca, 'the root is a CA');
  for (const [who, w] of [['client', c.client], ['server', c.server]] as const) {
    t.equal(w.spiffe, `spiffe://cluster.local/ns/bench/sa/${who}`);
    const chain = readFileSync(w.certChain, 'utf8');
    t.equal(chain.match(/BEGIN CERTIFICATE/g)?.length, 2, 'leaf then root');
    const leaf = new X509Certificate(chain);
    t.equal(leaf.subjectAltName, `URI:${w.spiffe}`);
    t.notOk(leaf.ca);
    t.ok(leaf.verify(root.publicKey), `the ${who} certificate is signed by the root`);
    t.ok(leaf.checkPrivateKey((await import('node:crypto')).createPrivateKey(readFileSync(w.key))), 'its key matches');
  }
});

const CERTS: MeshCertFiles = {
  root: '/c/root.pem',
  client: { spiffe: 'spiffe://cluster.local/ns/bench/sa/client', certChain: '/c/client.pem', key: '/c/client.key' },
  server: { spiffe: 'spiffe://cluster.local/ns/bench/sa/server', certChain: '/c/server.pem', key: '/c/server.key' },
};

t.test('bootstraps: upstream TLS on the client sidecar, mesh TLS chain on the server sidecar', async (t) => {
  const ports = { admin: 1, listen: 2, next: 3 };
  const client = bootstrapYaml('c', ports, null, false, { role: 'client', certs: CERTS });
  t.match(client, /UpstreamTlsContext\n\s+sni: outbound_\.3_\._\.server\.bench\.svc\.cluster\.local\n/, 'SNI of the next hop\'s port');
  t.match(client, /alpn_protocols: \["istio-peer-exchange", "istio"\]\n/);
  t.match(client, /certificate_chain: \{ filename: "\/c\/client\.pem" \}\n\s+private_key: \{ filename: "\/c\/client\.key" \}/);
  t.match(client, /trusted_ca: \{ filename: "\/c\/root\.pem" \}\n\s+match_typed_subject_alt_names:\n\s+- san_type: URI\n\s+matcher: \{ exact: "spiffe:\/\/cluster\.local\/ns\/bench\/sa\/server" \}/);
  t.notMatch(client, /DownstreamTlsContext|tls_inspector/, 'its listener stays plaintext (the app side)');
  const h2 = bootstrapYaml('c', ports, null, true, { role: 'client', certs: CERTS });
  t.match(h2, /alpn_protocols: \["istio-peer-exchange", "istio", "h2"\]\n/, 'an HTTP/2 cluster offers h2 too');
  const server = bootstrapYaml('s', ports, null, false, { role: 'server', certs: CERTS });
  t.match(server, /listener_filters:\n\s+- name: envoy\.filters\.listener\.tls_inspector/);
  t.match(server, /filter_chain_match:\n\s+transport_protocol: tls\n\s+application_protocols: \["istio", "istio-peer-exchange", "istio-http\/1\.0", "istio-http\/1\.1", "istio-h2"\]/);
  t.match(server, /DownstreamTlsContext\n\s+require_client_certificate: true/);
  t.match(server, /alpn_protocols: \["h2", "http\/1\.1"\]/);
  t.notMatch(server, /UpstreamTlsContext|match_typed_subject_alt_names/, 'plaintext to the app; the chain is checked, not the client SAN');
  for (const y of [client, server]) t.same([...y.matchAll(/port_value: (\d+)/g)].map((m) => Number(m[1])), [1, 2, 3], 'the ports in the order the stand-in reads');
  t.notMatch(bootstrapYaml('p', ports), /transport_socket|listener_filters/, 'the plaintext bootstrap is unchanged');
});

t.test('proxy2-mtls is a scenario of every row, run by default and with --quick', async (t) => {
  const q = parseOptions(['--quick']);
  if (q === 'help') throw new Error('unexpected help');
  t.ok(q.only.includes('proxy2-mtls'), 'in the default set');
  t.same(scenariosFor('http1', q.only), ['direct', 'proxy1', 'proxy2', 'proxy2-mtls', 'nginx', 'pump'], 'beside 2 proxies');
  t.same(scenariosFor('grpc', q.only), ['direct', 'proxy1', 'proxy2', 'proxy2-mtls']);
  const o = parseOptions(['--only', 'proxy2-mtls,proxy2']);
  t.same(o !== 'help' && o.only, ['proxy2', 'proxy2-mtls']);
  t.throws(() => parseOptions(['--base', 'main', '--only', 'proxy2-mtls']), /drop proxy2-mtls/, '--base compares the plaintext hot path only');
});

const counters = (handshakes: number, connections: number, requests: number, serverHandshakes: number) => ({ handshakes, connections, requests, serverHandshakes });

t.test('handshake counters: /stats parsed, growth over a load, the note', async (t) => {
  const stats = parseStatsText('cluster.upstream.ssl.handshake: 12\ncluster.upstream.upstream_cx_total: 12\nlistener.127.0.0.1_4000.ssl.handshake: 12\nserver.live: 1\nnot a stat\n');
  t.equal(stats.get('cluster.upstream.ssl.handshake'), 12);
  t.equal(stats.get('listener.127.0.0.1_4000.ssl.handshake'), 12);
  t.equal(stats.size, 4);
  const r = tlsReuse(counters(10, 10, 500, 10), counters(12, 12, 30_500, 12));
  t.same([r.handshakes, r.connections, r.requests, r.serverHandshakes], [2, 2, 30_000, 2]);
  t.equal(r.handshakesPerRequest, 2 / 30_000);
  t.equal(reuseNote(r), '2 TLS handshakes (2 new connections) for 30,000 requests over the load; since start 12 handshakes for 30,500 requests (server side: 12)');
  t.equal(tlsReuse(counters(1, 1, 5, 1), counters(1, 1, 5, 1)).handshakesPerRequest, null, 'no request, no ratio');
  t.equal(totalReuse([null, undefined]), null);
});

t.test('the mTLS section: ratios to the plaintext twin and the handshakes per protocol', async (t) => {
  const reuse: TlsReuse = { ...counters(0, 0, 9_000, 0), handshakesPerRequest: 0, sinceStart: counters(50, 50, 12_000, 50) };
  const h1 = (scenario: ScenarioRun['scenario'], rps: number, p50: number, cpu: number) => ({ scenario, hops: 2, okRuns: 1, runs: 1, rps, p50, p99: p50 * 4, cpuSPer10k: cpu }) as never;
  const runs = [{ scenario: 'proxy2-mtls', error: null, tlsReuse: reuse }] as unknown as ScenarioRun[];
  const grpcRun = { protocol: 'grpc', scenario: 'proxy2-mtls', error: null, tlsReuse: null } as unknown as ProtocolRun;
  const grpc = (scenario: ScenarioRun['scenario'], rps: number) => ({ protocol: 'grpc' as const, scenario, hops: 2, okRuns: 1, runs: 1, rps, p50: 10, p99: 20, cpuSPer10k: 5, peakRssMb: 1, ratioToDirect: null });
  const cs = mtlsComparisons([h1('proxy2', 4000, 1, 1), h1('proxy2-mtls', 3000, 1.5, 1.4)], runs, [grpc('proxy2', 500), grpc('proxy2-mtls', 400)], [grpcRun]);
  t.same(cs.map((c) => c.protocol), ['http1', 'grpc']);
  const text = mtlsSection(cs).join('\n');
  t.match(text, /protocol\s+figure\s+2 proxies\s+2 proxies, mTLS\s+mTLS ÷ plaintext/);
  t.match(text, /\nHTTP\/1\.1\s+req\/s\s+4,000\s+3,000\s+0\.75\n/);
  t.match(text, /\nHTTP\/1\.1\s+p50 ms\s+1\.000\s+1\.500\s+1\.50\n/);
  t.match(text, /\nHTTP\/1\.1\s+CPU-s\/10k\s+1\.000\s+1\.400\s+1\.40\n/);
  t.match(text, /\ngRPC\s+req\/s\s+500\s+400\s+0\.80\n/);
  t.match(text, /HTTP\/1\.1: 0 TLS handshakes \(0 new upstream connections\) for 9,000 requests over 1 measured load\(s\) \(0\.00000 per request\); since the proxies started, warm-up included: 50 handshakes for 12,000 requests/);
  t.match(text, /gRPC:\s+no handshake figures/);
  t.same(mtlsComparisons([h1('proxy2', 1, 1, 1)], [], [], []), [], 'no section without the mTLS scenario');
});

// ---- for real: two minimesh proxies, mutual TLS between them
const cpu = '0';

function get(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false, timeout: 5000 }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.end();
  });
}

t.test('two real sidecars: requests cross mTLS, the server side counts handshakes and refuses plaintext', { timeout: 120_000 }, async (t) => {
  const dir = tempDir(t);
  const up = spawnPinned(cpu, process.execPath, [distProgram('upstream')]);
  t.teardown(() => stop(up));
  const upstreamPort = (await firstJsonLine<{ port: number }>(up, 10_000)).port;
  const env = { upstreamPort, cpuUnderTest: cpu, proxyCmd: proxyCommand(repoRoot), nginx: null, dir, profileDir: null };
  await t.rejects(setUp('proxy2-mtls', env), /proxy2-mtls needs the mesh certificates/, 'no certificates: a clear error');
  const setup = await setUp('proxy2-mtls', { ...env, meshCerts: await writeMeshCerts(dir) });
  t.teardown(() => setup.stop());
  if (setup.tlsCounters === undefined) return t.fail('the mTLS scenario reads the TLS counters');
  const before = await setup.tlsCounters();
  for (let i = 0; i < 3; i++) t.same(await get(setup.port, `/r${i}`), { status: 200, body: 'hello from upstream\n' }, `request ${i} answered through both sidecars`);
  const r = tlsReuse(before, await setup.tlsCounters());
  t.equal(r.requests, 3, 'the client sidecar sent 3 requests upstream');
  t.ok(r.handshakes >= 1 && r.handshakes <= 3, `client handshakes: ${r.handshakes}`);
  t.equal(r.serverHandshakes, r.handshakes, 'the server sidecar terminated each of them');
  const serverPort = Number(/port_value: (\d+)/.exec(readFileSync(join(dir, 'client-sidecar.yaml'), 'utf8').split('load_assignment')[1])?.[1]);
  await t.rejects(get(serverPort, '/plain'), 'the server sidecar takes mesh TLS only: plaintext HTTP gets no answer');
});

/** `npm run bench -- ARGS` (the compiled run.js) */
function bench(t: Test, args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const p = spawn(process.execPath, [distProgram('run'), ...args], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    // SIGTERM: the bench stops its proxies and upstreams before it exits
    t.teardown(() => void (p.exitCode === null && p.kill('SIGTERM')));
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    p.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    p.on('close', (code) => done({ code, stdout, stderr }));
  });
}

const noProc = existsSync('/proc/self/stat') ? false : 'needs Linux /proc';
// the file's own timeout covers the bench run below (tap's default is 30 s)
if (noProc === false) t.setTimeout(400_000);

t.test('a quick bench run: 2 proxies and 2 proxies, mTLS, over every protocol', { skip: noProc, timeout: 360_000 }, async (t) => {
  // h2 is skipped by the bench itself (saying so) without h2load
  const r = await bench(t, ['--quick', '--only', 'proxy2,proxy2-mtls', '--duration', '2', '--no-wrk', '--rate', '1000']);
  t.comment(r.stdout.slice(r.stdout.indexOf('\nProtocols')));
  if (!t.equal(r.code, 0, 'exit 0')) t.comment(`${r.stdout.slice(-6000)}\n${r.stderr}`);
  t.match(r.stdout, /mTLS: a root and the workload certificates spiffe:\/\/cluster\.local\/ns\/bench\/sa\/client, spiffe:\/\/cluster\.local\/ns\/bench\/sa\/server/);
  t.match(r.stdout, /\nHTTP\/1\.1\s+req\/s\s+[\d,]+\s+[\d,]+\s+\d+\.\d\d\n/, 'HTTP/1.1 req/s of both and the ratio');
  t.match(r.stdout, /\ngRPC\s+CPU-s\/10k\s+\d+\.\d{3}\s+\d+\.\d{3}\s+\d+\.\d\d\n/, 'gRPC CPU of both and the ratio');
  t.match(r.stdout, /HTTP\/1\.1: \d+ TLS handshakes \(\d+ new upstream connections\) for [\d,]+ requests/, 'the handshake line');
  const file = /full results: (\S+\.json)/.exec(r.stdout)?.[1];
  if (file === undefined) return t.fail('no results file named');
  t.teardown(() => rmSync(file, { force: true }));
  const json = JSON.parse(readFileSync(file, 'utf8')) as { runs: ScenarioRun[]; protocolRuns: ProtocolRun[] };
  const h1 = json.runs.find((x) => x.scenario === 'proxy2-mtls');
  const mux = (p: ProtocolRun['protocol']) => json.protocolRuns.find((x) => x.protocol === p && x.scenario === 'proxy2-mtls');
  const rows: [string, ScenarioRun | ProtocolRun | undefined, number | undefined][] = [['HTTP/1.1', h1, h1?.throughput?.result.rps], ['gRPC', mux('grpc'), mux('grpc')?.load?.result.rps]];
  if (h2loadVersion() !== null) rows.push(['h2', mux('h2'), mux('h2')?.load?.result.rps]);
  for (const [what, run, rps] of rows) {
    t.equal(run?.error, null, `${what}: the mTLS run worked`);
    t.ok((rps ?? 0) > 0, `${what}: ${Math.round(rps ?? 0)} req/s through two sidecars with mTLS`);
    const reuse = run?.tlsReuse;
    t.ok(reuse !== undefined && reuse !== null && reuse.requests > 0, `${what}: the handshakes per request were computed (${reuse?.handshakes} for ${reuse?.requests})`);
    t.ok((reuse?.sinceStart.serverHandshakes ?? 0) > 0, `${what}: the server sidecar's listener did TLS handshakes (${reuse?.sinceStart.serverHandshakes})`);
    t.equal(reuse?.sinceStart.serverHandshakes, reuse?.sinceStart.handshakes, `${what}: every client handshake reached the server`);
  }
  t.equal(json.runs.find((x) => x.scenario === 'proxy2')?.tlsReuse, null, 'the plaintext twin records no TLS');
});
