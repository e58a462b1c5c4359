/** The CLI as a process: drain on SIGTERM, drain time limit, bootstrap errors. */
import t from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import net from 'node:net';
import { buildBootstrap, hang, ok, rawClient, route, sleep, startUpstream, tempDir, writeBootstrap, type TestLike } from './helpers/harness.js';

const CLI = fileURLToPath(new URL('../../../packages/cli/bin/minimesh.js', import.meta.url));

interface Proc {
  child: ChildProcess;
  stderr: () => string;
  exited: Promise<number | null>;
}

function run(t: TestLike, args: string[]): Proc {
  const child = spawn(process.execPath, [CLI, 'proxy', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  t.teardown(() => void child.kill('SIGKILL'));
  return { child, stderr: () => err, exited };
}

/** Starts the CLI on a bootstrap and waits for its listener's port (from its log). */
async function startCli(t: TestLike, bootstrap: unknown, drainTimeS: number, flags = ['--health-port', 'off']): Promise<Proc & { port: number }> {
  const file = writeBootstrap(tempDir(), bootstrap);
  const p = run(t, ['--bootstrap', file, ...flags, '--drain-time-s', String(drainTimeS)]);
  const deadline = Date.now() + 30000; // a busy machine (the image build beside it) starts node slowly
  for (;;) {
    const m = /"listener":"listener_test","address":"127\.0\.0\.1:(\d+)"/.exec(p.stderr());
    if (m !== null) return { ...p, port: Number(m[1]) };
    if (Date.now() > deadline) throw new Error(`proxy did not start: ${p.stderr()}`);
    await sleep(20);
  }
}

function connectRefused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.on('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.on('error', () => resolve(true));
  });
}

t.test('two bootstrap proxies side by side: no port but the bootstrap\'s (no 15021, 15020, 15090)', async (t) => {
  const up = await startUpstream(t, ok('hi'));
  const boot = buildBootstrap({ routes: [route('/', 'c')], clusters: { c: [up.port] } }, undefined);
  const a = await startCli(t, boot, 1, []);
  const b = await startCli(t, boot, 1, []);
  for (const [name, p] of [['first', a], ['second', b]] as const) {
    const c = await rawClient(t, p.port);
    c.write('GET / HTTP/1.1\r\nhost: h\r\nconnection: close\r\n\r\n');
    t.match(await c.waitFor((x) => x.endsWith('hi'), 3000), /^HTTP\/1.1 200 /, `${name} proxy serves`);
    t.equal(p.child.exitCode, null, `${name} proxy still runs`);
    t.notMatch(p.stderr(), /EADDRINUSE|:1502[01]|:15090/, `${name} proxy opened none of Istio's pod ports`);
  }
});

t.test('SIGTERM: the request in flight completes with connection: close, new connections are refused, exit 0', async (t) => {
  const up = await startUpstream(t, ok('slow', {}, 500));
  const proc = await startCli(t, buildBootstrap({ routes: [route('/', 'c')], clusters: { c: [up.port] } }, undefined), 5);
  const c = await rawClient(t, proc.port);
  c.write('GET / HTTP/1.1\r\nhost: h\r\n\r\n');
  while (up.requests.length === 0) await sleep(5);
  proc.child.kill('SIGTERM');
  await sleep(100);
  t.ok(await connectRefused(proc.port), 'new connections refused while draining');
  const text = await c.waitFor((s) => s.endsWith('slow'), 3000);
  t.match(text, /^HTTP\/1.1 200 /);
  t.match(text, /\r\nconnection: close\r\n/i);
  await c.closed;
  t.equal(await proc.exited, 0, 'exit code 0');
});

t.test('SIGTERM with a request that never finishes: exits by itself after --drain-time-s', async (t) => {
  const up = await startUpstream(t, hang);
  const proc = await startCli(t, buildBootstrap({ routes: [route('/', 'c', { timeout: '0s' })], clusters: { c: [up.port] } }, undefined), 0.5);
  const c = await rawClient(t, proc.port);
  c.write('GET / HTTP/1.1\r\nhost: h\r\n\r\n');
  while (up.requests.length === 0) await sleep(5);
  const start = performance.now();
  proc.child.kill('SIGTERM');
  const code = await proc.exited;
  const took = performance.now() - start;
  t.equal(code, 0);
  t.ok(took >= 450 && took < 3000, `exited after the drain time (${Math.round(took)} ms)`);
  await Promise.race([c.closed, sleep(500)]);
  t.ok(c.isClosed, 'the hung client connection was closed');
});

t.test('invalid bootstraps: exit 1 with a message naming the field path', async (t) => {
  const badRegex = buildBootstrap({ routes: [{ match: { safe_regex: { regex: '(' } }, route: { cluster: 'c' } }], clusters: { c: [1] } }, undefined);
  const unknownField = buildBootstrap({ routes: [route('/', 'c')], clusters: { c: { endpoints: [1], extra: { no_such_field: 1 } } } }, undefined);
  const unknownCluster = buildBootstrap({ routes: [route('/', 'missing')], clusters: { c: [1] } }, undefined);
  const cases: [string, unknown, RegExp][] = [
    ['bad regex', badRegex, /static_resources\.listeners\[0\]\.filter_chains\[0\]\.filters\[0\]\.typed_config\.route_config\.virtual_hosts\[0\]\.routes\[0\]\.match\.safe_regex\.regex: invalid regex/],
    ['unknown field', unknownField, /static_resources\.clusters\[0\]\.no_such_field: unknown field/],
    ['unknown cluster', unknownCluster, /virtual_hosts\[0\]\.routes\[0\]\.route\.cluster: unknown cluster "missing"/],
  ];
  for (const [name, b, path] of cases) {
    const file = writeBootstrap(tempDir(), b);
    const p = run(t, ['--bootstrap', file, '--health-port', 'off']);
    t.equal(await p.exited, 1, `${name}: exit 1`);
    t.match(p.stderr(), path, `${name}: names the field`);
    t.match(p.stderr(), /invalid bootstrap/, `${name}: says the bootstrap is invalid`);
  }
  const missing = run(t, ['--bootstrap', '/nonexistent/b.yaml', '--health-port', 'off']);
  t.equal(await missing.exited, 1, 'missing file: exit 1');
  t.match(missing.stderr(), /cannot read bootstrap/);
  const usage = run(t, []);
  t.equal(await usage.exited, 2, 'no --bootstrap: usage error, exit 2');
});
