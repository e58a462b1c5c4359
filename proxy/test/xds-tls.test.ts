/**
 * The proxy reaching the control plane over TLS (as on 15012): the root from --xds-ca or the
 * mounted ConfigMap, the name checked, a wrong root failing loudly and retried, a bad root file
 * stopping the start with its name.
 *
 * The serving certificate names `istiod.istio-system.svc` while the test dials 127.0.0.1 on a
 * free port: `--xds-server-name` (the name checked in place of the dialled host) makes that the
 * same handshake a pod's `--xds istiod.istio-system.svc:15012` does. That `--xds` itself yields
 * that name and the mounted root is checked on the parsed options.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { istiodDnsNames, istiodSecureXdsAddress } from '@minimesh/mesh';
import { SnapshotCache, XdsServer, syncState } from '@minimesh/xds/server';
import { TYPE_URL } from '@minimesh/api';
import { parseProxyArgs, startProxy } from '../src/main.js';
import { chooseXdsTls, loadXdsRoot, MOUNTED_ROOT_FILE } from '../src/xds-tls.js';
import { startXdsProxy } from '../src/xds-mode.js';
import { ok, request, sleep, startUpstream, tempDir, type TestLike } from './helpers/harness.js';
import { log } from '../src/log.js';
import { makeRoot, makeServingCert, opensslMissing, type TestRoot, type TestServingCert } from './helpers/test-ca.js';
import { LISTENER_NAME, oneRouteSnapshot } from './helpers/xds-snapshot.js';

// The refused handshakes below are expected: keep their warnings out of the test output.
log.level = 'error';

const CLI = fileURLToPath(new URL('../../../packages/cli/bin/minimesh.js', import.meta.url));
const NODE = 'sidecar~127.0.0.1~app-1.default~default.svc.cluster.local';
const ISTIOD = istiodDnsNames()[0];
const LOCAL_PORTS = ['--admin-port', '0', '--health-port', '0', '--health-address', '127.0.0.1', '--prometheus-ports', 'off', '--agent-port', 'off', '--node-id', NODE];

async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

async function tlsServer(t: TestLike, serving: TestServingCert, port = 0): Promise<{ server: XdsServer; cache: SnapshotCache; port: number }> {
  const cache = new SnapshotCache();
  const server = new XdsServer({ cache });
  const bound = await server.listen('127.0.0.1', port, { certChainPem: serving.certPem, keyPem: serving.keyPem });
  t.teardown(() => server.close(100));
  return { server, cache, port: bound };
}

const synced = (server: XdsServer, version: string) => (): boolean => {
  const st = server.syncStatus()[0]?.types[TYPE_URL.RouteConfiguration];
  return st?.ackedVersion === version && syncState(st) === 'SYNCED';
};

t.test('which root and which name: --xds-ca, the mounted root on 15012, plain text otherwise', async (t) => {
  const dir = tempDir();
  const mounted = join(dir, 'root-cert.pem');
  writeFileSync(mounted, 'x');
  t.equal(MOUNTED_ROOT_FILE, '/var/run/secrets/istio/root-cert.pem', "where the pod mounts the root ConfigMap's key");
  const pod = parseProxyArgs(['--xds', istiodSecureXdsAddress()], mounted);
  t.same(pod !== 'help' && pod.xds?.tls, { rootFile: mounted, serverName: ISTIOD, source: 'mounted' }, 'a pod: port 15012 with the mounted root, the name from --xds');
  t.equal(chooseXdsTls(istiodSecureXdsAddress(), {}, join(dir, 'absent')), undefined, 'no root mounted: plain text');
  t.equal(chooseXdsTls('127.0.0.1:15010', {}, mounted), undefined, 'another port: plain text, mounted root or not');
  t.same(chooseXdsTls('istiod.istio-system.svc:15010', { ca: '/r.pem' }, mounted), { rootFile: '/r.pem', serverName: ISTIOD, source: 'flag' }, '--xds-ca: TLS on any port');
  t.same(chooseXdsTls('127.0.0.1:15012', { ca: '/r.pem', serverName: ISTIOD }), { rootFile: '/r.pem', serverName: ISTIOD, source: 'flag' }, '--xds-server-name: the name checked');
  t.equal(chooseXdsTls('[::1]:15012', { ca: '/r.pem' })?.serverName, '::1', 'an IPv6 host');
  const flag = parseProxyArgs(['--xds', istiodSecureXdsAddress(), '--xds-ca', '/other.pem'], mounted);
  t.equal(flag !== 'help' && flag.xds?.tls?.rootFile, '/other.pem', '--xds-ca wins over the mounted root');
  t.throws(() => parseProxyArgs(['--xds', '127.0.0.1:15010', '--xds-server-name', ISTIOD], mounted), /--xds-server-name: no TLS to check it with \(give --xds-ca FILE\)/);
  t.throws(() => parseProxyArgs(['--bootstrap', 'b.yaml', '--xds-ca', '/r.pem']), /--xds-ca needs --xds HOST:PORT/);
  t.throws(() => parseProxyArgs(['--xds', 'h:1', '--xds-ca', '']), /--xds-ca: expected a file/);
});

t.test('a root file that is missing, empty or broken: an error naming it', async (t) => {
  const dir = tempDir();
  const write = (name: string, text: string): string => {
    writeFileSync(join(dir, name), text);
    return join(dir, name);
  };
  const flag = (rootFile: string) => ({ rootFile, serverName: ISTIOD, source: 'flag' as const });
  t.throws(() => loadXdsRoot(flag(join(dir, 'nope.pem'))), new RegExp(`^--xds-ca ${dir}/nope\\.pem: cannot read: ENOENT`));
  t.throws(() => loadXdsRoot(flag(write('key.pem', '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n'))), /key\.pem: no certificate in it \(expected PEM/);
  t.throws(() => loadXdsRoot(flag(write('bad.pem', '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n'))), /bad\.pem: certificate 1 of 1 is not a valid X\.509 certificate/);
  t.throws(() => loadXdsRoot({ rootFile: join(dir, 'gone.pem'), serverName: ISTIOD, source: 'mounted' }), /the control plane's root .*gone\.pem \(mounted; used as --xds is on port 15012\): cannot read/);
  // The CLI: exit 1 at startup with the file in the message, not a crash or a silent retry loop.
  const child = spawn(process.execPath, [CLI, 'proxy', '--xds', '127.0.0.1:9', '--xds-ca', join(dir, 'nope.pem'), ...LOCAL_PORTS], { stdio: ['ignore', 'ignore', 'pipe'] });
  t.teardown(() => void child.kill('SIGKILL'));
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  t.equal(code, 1, 'exits 1');
  t.match(err, `minimesh proxy: --xds-ca ${join(dir, 'nope.pem')}: cannot read: ENOENT`);
});

const noOpenssl = opensslMissing();
// CI installs openssl: there it missing is a failure, not a skip.
if (noOpenssl && process.env.CI === 'true') t.fail(noOpenssl);

t.test('over TLS: the control plane certificate checked against the root and the name', { skip: noOpenssl }, async (t) => {
  const dir = tempDir();
  const root = makeRoot(dir, 'root');
  const { server, cache, port } = await tlsServer(t, makeServingCert(dir, root, istiodDnsNames()));
  const up = await startUpstream(t, ok('over-tls'));
  cache.setSnapshot(NODE, oneRouteSnapshot('v1', 'a', up.port));
  // 127.0.0.1 dialled, istiod.istio-system.svc checked: what the pod's --xds does through DNS.
  const opts = parseProxyArgs(['--xds', `127.0.0.1:${port}`, '--xds-ca', root.certFile, '--xds-server-name', ISTIOD, ...LOCAL_PORTS]);
  if (opts === 'help') throw new Error('help');
  const running = await startProxy({ ...opts, xds: { ...opts.xds!, backoff: { initialMs: 50, maxMs: 200 } } });
  t.teardown(() => running.stop());
  await until(synced(server, 'v1'), 5000, 'the config over TLS ACKed');
  t.equal(server.syncStatus()[0].nodeId, NODE);
  const r = await request(running.proxy.listeners.get(LISTENER_NAME)!.port, { path: '/' });
  t.equal(r.body, 'over-tls', 'traffic flows on the config received over TLS');

  // The same root, but the name checked is the one dialled (127.0.0.1): the certificate lacks it.
  const noName = parseProxyArgs(['--xds', `127.0.0.1:${port}`, '--xds-ca', root.certFile, ...LOCAL_PORTS]);
  if (noName === 'help') throw new Error('help');
  const other = await startXdsProxy({ ...noName.xds!, node: { id: 'sidecar~127.0.0.2~b.default~default.svc.cluster.local' }, backoff: { initialMs: 50, maxMs: 100 } });
  t.teardown(() => other.stop());
  const errors: string[] = [];
  other.client.on('disconnected', (e) => errors.push(e?.message ?? ''));
  await until(() => errors.length >= 2, 5000, 'two failed attempts');
  t.match(errors[0], /altnames|127\.0\.0\.1/, 'refused: the certificate does not name 127.0.0.1');
  t.equal(server.syncStatus().length, 1, 'only the first proxy got through');
});

t.test('a wrong root: the proxy says so, keeps retrying, and connects once the server presents a certificate it trusts', { skip: noOpenssl }, async (t) => {
  const dir = tempDir();
  const trusted: TestRoot = makeRoot(dir, 'trusted');
  const stranger: TestRoot = makeRoot(dir, 'stranger');
  const first = await tlsServer(t, makeServingCert(dir, stranger, istiodDnsNames()));
  const up = await startUpstream(t, ok('hi'));
  const child = spawn(process.execPath, [CLI, 'proxy', '--xds', `127.0.0.1:${first.port}`, '--xds-ca', trusted.certFile, '--xds-server-name', ISTIOD, ...LOCAL_PORTS], { stdio: ['ignore', 'ignore', 'pipe'] });
  t.teardown(() => void child.kill('SIGKILL'));
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const failures = (): number => err.match(/xDS: TLS to the control plane failed/g)?.length ?? 0;
  await until(() => failures() >= 2, 10_000, 'two TLS failures logged');
  const line = err.split('\n').find((l) => l.includes('xDS: TLS to the control plane failed'))!;
  t.match(line, `its certificate must chain to --xds-ca ${trusted.certFile} and carry the name ${ISTIOD}; retrying`, 'the log line names the root and the name');
  t.match(JSON.parse(line).error, /certificate/, 'with the handshake error');
  t.equal(child.exitCode, null, 'still running');
  t.equal(first.server.syncStatus().length, 0, 'no stream got through');
  // The control plane comes back on the same port with a certificate from the trusted root.
  await first.server.close(50);
  const second = await tlsServer(t, makeServingCert(dir, trusted, istiodDnsNames()), first.port);
  second.cache.setSnapshot(NODE, oneRouteSnapshot('v1', 'a', up.port));
  await until(synced(second.server, 'v1'), 20_000, 'the retried connection ACKing the config');
  t.match(err, /xDS: config applied/, 'applied');
});
