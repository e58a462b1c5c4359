/**
 * The proxy's workload certificate from the real control plane (`minimesh control-plane
 * --local --workload-tokens`, a child process) over real gRPC: the key stays in the proxy, the
 * certificate names the token's identity, `default` and `ROOTCA` are set, a short TTL renews
 * at half-life with a new serial, a bad token is retried with backoff and recovers once the
 * token file is right; /config_dump shows Envoy's SecretsConfigDump with the key redacted, and
 * `minimesh proxy-config secret --admin` prints istioctl's table and JSON.
 */
import t from 'tap';
import { spawn, execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startXdsProxy, type RunningXdsProxy } from '../src/xds-mode.js';
import { parseProxyArgs } from '../src/main.js';
import type { IssuedCert } from '../src/security/workload-cert-agent.js';
import { parseTtlSeconds } from '../src/security/workload-cert-options.js';
import { ROOT_SECRET, WORKLOAD_SECRET } from '../src/security/secret-store.js';
import { REDACTED } from '../src/admin/secrets-config-dump.js';
import { log } from '../src/log.js';
import { sleep, tempDir } from './helpers/harness.js';

log.level = 'error';
const CLI = fileURLToPath(new URL('../../../packages/cli/bin/minimesh.js', import.meta.url));

async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

const uris = (pem: string): string[] => (new X509Certificate(pem).subjectAltName ?? '').split(/,\s*/).filter((s) => s.startsWith('URI:')).map((s) => s.slice(4));

/** The control plane as the local mesh runs it, on a free port; resolves with its xDS address. */
async function controlPlane(t: { teardown(fn: () => unknown): void }, tokensFile: string): Promise<string> {
  const dir = tempDir();
  const child = spawn(process.execPath, [CLI, 'control-plane', '--config-dir', dir, '--local', '--workload-tokens', tokensFile, '--xds-address', '127.0.0.1:0', '--debug-address', '127.0.0.1:0', '--dashboard-address', 'off'], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => void child.kill('SIGKILL'));
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  await until(() => /control plane ready: xds [\d.]+:\d+/.test(out) && /workload certificates:/.test(out), 15_000, `the control plane to start (${out})`);
  return /control plane ready: xds ([\d.]+:\d+)/.exec(out)![1];
}

function startProxy(t: { teardown(fn: () => unknown): void }, server: string, tokenFile: string, ttlSeconds?: number, pod = 'cart-1'): Promise<RunningXdsProxy> {
  return startXdsProxy({
    server,
    node: { id: `sidecar~127.0.0.1~${pod}.shop~shop.svc.cluster.local`, metadata: { NAMESPACE: 'shop', POD_NAME: pod, INSTANCE_IPS: '127.0.0.1' } },
    adminAddress: '127.0.0.1',
    adminPort: 0,
    healthAddress: '127.0.0.1',
    healthPort: undefined,
    drainTimeMs: 0,
    backoff: { initialMs: 50, maxMs: 200 },
    identity: { tokenFile, ttlSeconds, retry: { initialMs: 50, maxMs: 400 } },
  }).then((p) => {
    t.teardown(() => p.stop());
    return p;
  });
}

const cli = (args: string[]): Promise<{ code: number; out: string; err: string }> =>
  new Promise((resolve) => execFile(process.execPath, [CLI, ...args], (e, out, err) => resolve({ code: e ? ((e as { code?: number }).code ?? 1) : 0, out, err })));

t.test('certificate, renewal, config_dump and proxy-config secret', async (t) => {
  const dir = tempDir();
  const tokens = join(dir, 'tokens.json');
  writeFileSync(tokens, JSON.stringify({ 'tok-cart': { namespace: 'shop', serviceAccount: 'cart' }, 'tok-pay': { namespace: 'shop', serviceAccount: 'payments' } }));
  const server = await controlPlane(t, tokens);
  const tokenFile = join(dir, 'cart.token');
  writeFileSync(tokenFile, 'tok-cart\n');
  const p = await startProxy(t, server, tokenFile, 3);
  const issued: IssuedCert[] = [];
  p.identity!.on('issued', (c) => issued.push(c));
  await until(() => issued.length >= 1, 10_000, 'the first certificate');

  const def = p.proxy.secrets.get(WORKLOAD_SECRET)!;
  const root = p.proxy.secrets.get(ROOT_SECRET)!;
  t.ok(def.certificateChain && def.privateKey, 'default holds a chain and a key');
  t.same(uris(def.certificateChain!), ['spiffe://cluster.local/ns/shop/sa/cart'], 'the identity of the token');
  const leaf = new X509Certificate(def.certificateChain!);
  t.ok(leaf.checkPrivateKey((await import('node:crypto')).createPrivateKey(def.privateKey!)), 'the key is the one the proxy made');
  t.equal(leaf.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1', 'EC P-256');
  t.ok(leaf.verify(new X509Certificate(root.trustedCa!).publicKey), 'ROOTCA is the root that signed it');
  const life = new Date(leaf.validTo).getTime() - issued[0].receivedAt.getTime();
  t.ok(life > 1000 && life <= 3000, `the requested TTL (${life} ms)`);

  // /config_dump: Envoy's SecretsConfigDump, the key redacted.
  const dump = (await (await fetch(`http://127.0.0.1:${p.adminPort}/config_dump`)).json()) as { configs: Record<string, unknown>[] };
  const sec = dump.configs.find((c) => c['@type'] === 'type.googleapis.com/envoy.admin.v3.SecretsConfigDump') as { dynamic_active_secrets: { name: string; version_info: string; last_updated: string; secret: Record<string, any> }[] };
  t.ok(sec, 'a SecretsConfigDump');
  t.same(sec.dynamic_active_secrets.map((s) => s.name).sort(), ['ROOTCA', 'default']);
  const d = sec.dynamic_active_secrets.find((s) => s.name === 'default')!;
  t.equal(d.secret['@type'], 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret');
  t.equal(d.secret.tls_certificate.private_key.inline_bytes, REDACTED, 'the private key is [redacted]');
  t.equal(Buffer.from(REDACTED, 'base64').toString(), '[redacted]');
  t.notMatch(JSON.stringify(dump), /PRIVATE KEY/, 'no key anywhere in the dump');
  t.equal(Buffer.from(d.secret.tls_certificate.certificate_chain.inline_bytes, 'base64').toString(), def.certificateChain, 'the chain');
  const r = sec.dynamic_active_secrets.find((s) => s.name === 'ROOTCA')!;
  t.equal(Buffer.from(r.secret.validation_context.trusted_ca.inline_bytes, 'base64').toString(), root.trustedCa);
  t.ok(d.version_info && d.last_updated, 'version and time');

  // proxy-config secret: istioctl's table and JSON.
  const table = await cli(['proxy-config', 'secret', '--admin', `127.0.0.1:${p.adminPort}`]);
  t.equal(table.code, 0, table.err);
  const lines = table.out.trimEnd().split('\n');
  t.match(lines[0], /^RESOURCE NAME\s{5,}TYPE\s{5,}STATUS\s{5,}VALID CERT\s{5,}SERIAL NUMBER\s{5,}NOT AFTER\s{5,}NOT BEFORE$/);
  t.match(lines.find((l) => l.startsWith('default')), /^default\s+Cert Chain\s+ACTIVE\s+true\s+[0-9a-f]+\s+\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\s+\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  t.match(lines.find((l) => l.startsWith('ROOTCA')), /^ROOTCA\s+CA\s+ACTIVE\s+true\s+[0-9a-f]+\s/);
  const json = await cli(['proxy-config', 'secret', '--admin', `127.0.0.1:${p.adminPort}`, '-o', 'json']);
  const parsed = JSON.parse(json.out) as { dynamicActiveSecrets: { name: string; secret: { tlsCertificate?: { certificateChain: { inlineBytes: string } } } }[] };
  const jd = parsed.dynamicActiveSecrets.find((s) => s.name === 'default')!;
  t.same(uris(Buffer.from(jd.secret.tlsCertificate!.certificateChain.inlineBytes, 'base64').toString()), ['spiffe://cluster.local/ns/shop/sa/cart'], '-o json in istioctl\'s camelCase');

  // Renewal at half-life: a new certificate (new serial, new key) replaces default.
  const firstSerial = issued[0].serial;
  const firstKey = def.privateKey;
  await until(() => issued.length >= 3, 10_000, 'two renewals');
  const gap = issued[1].receivedAt.getTime() - issued[0].receivedAt.getTime();
  t.ok(gap >= 1000 && gap < 2500, `renewed at about half the lifetime (${gap} ms of ~3 s)`);
  t.not(issued[1].serial, firstSerial, 'a new serial');
  t.not(p.proxy.secrets.get(WORKLOAD_SECRET)!.privateKey, firstKey, 'a new key');
  t.equal(p.proxy.secrets.get(WORKLOAD_SECRET)!.certificateChain, issued[issued.length - 1].chainPem.join(''), 'default holds the latest');
  const dump2 = JSON.stringify(await (await fetch(`http://127.0.0.1:${p.adminPort}/config_dump`)).json());
  t.not(dump2, JSON.stringify(dump), 'config_dump shows the renewed secret');
});

t.test('a bad token: refused, retried with backoff, and fine once the token is', async (t) => {
  const dir = tempDir();
  const tokens = join(dir, 'tokens.json');
  writeFileSync(tokens, JSON.stringify({ 'tok-pay': { namespace: 'shop', serviceAccount: 'payments' } }));
  const server = await controlPlane(t, tokens);
  const tokenFile = join(dir, 'pay.token');
  writeFileSync(tokenFile, 'tok-cart');
  const p = await startProxy(t, server, tokenFile, undefined, 'pay-1');
  const failures: { at: number; message: string }[] = [];
  p.identity!.on('failed', (e) => failures.push({ at: Date.now(), message: e.message }));
  await until(() => failures.length >= 3, 10_000, 'three failed attempts');
  t.match(failures[0].message, /CreateCertificate: UNAUTHENTICATED: .*not one the local mesh gave/);
  t.ok(failures[2].at - failures[1].at >= failures[1].at - failures[0].at - 20, 'backing off');
  t.equal(p.proxy.secrets.get(WORKLOAD_SECRET), undefined, 'no certificate');
  writeFileSync(tokenFile, 'tok-pay');
  await until(() => p.proxy.secrets.get(WORKLOAD_SECRET) !== undefined, 10_000, 'the certificate once the token is right');
  t.same(uris(p.proxy.secrets.get(WORKLOAD_SECRET)!.certificateChain!), ['spiffe://cluster.local/ns/shop/sa/payments']);
  const life = p.identity!.current!.notAfter.getTime() - Date.now();
  t.ok(life > 23.9 * 3600_000, '24 h by default');
});

t.test('flags', async (t) => {
  const dir = tempDir();
  const tok = join(dir, 't');
  writeFileSync(tok, 'x');
  const o = parseProxyArgs(['--xds', '127.0.0.1:15010', '--ca-token-file', tok, '--cert-ttl', '90s']);
  t.same(o !== 'help' && o.xds?.identity, { tokenFile: tok, ttlSeconds: 90 });
  const off = parseProxyArgs(['--xds', '127.0.0.1:15010', '--ca-token-file', 'off']);
  t.equal(off !== 'help' && off.xds?.identity, undefined, '"off": no certificate');
  t.throws(() => parseProxyArgs(['--xds', '127.0.0.1:15010', '--ca-token-file', tok, '--cert-ttl', 'soon']), /--cert-ttl: expected a duration/);
  t.throws(() => parseProxyArgs(['--xds', '127.0.0.1:15010', '--ca-token-file', 'off', '--cert-ttl', '1h']), /--cert-ttl: no workload certificate is asked for/);
  t.throws(() => parseProxyArgs(['--bootstrap', 'b.yaml', '--ca-token-file', tok]), /--ca-token-file needs --xds/);
  t.equal(parseTtlSeconds('24h'), 86400);
  t.equal(parseTtlSeconds('1h30m'), 5400);
  t.equal(parseTtlSeconds('5'), 5);
  t.equal(parseTtlSeconds('500ms'), undefined, 'below a second');
});
