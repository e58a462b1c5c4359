/**
 * STRICT_DNS and LOGICAL_DNS clusters, real sockets and a name server the test controls
 * (`--dns-resolvers` pointing at a fake DNS server): the proxy resolves the endpoint name,
 * balances over every address, re-resolves every `dns_refresh_rate` (a new address joins, a
 * gone one drains), keeps the last good answer while the server fails, and LOGICAL_DNS uses
 * the first address only.
 */
import t from 'tap';
import { startFakeDnsServer } from '@minimesh/mesh/fake-dns-server';
import { route, startTestProxy, type TestProxy } from './helpers/harness.js';
import { createHostResolver } from '../src/upstream/dns/host-resolver.js';
import { parseProxyArgs } from '../src/main.js';
import { serveOnIps } from './helpers/servers-on-ips.js';

const NAME = 'api.external.example';

/** HTTP servers answering their own address, on the same port of several loopback addresses. */
function startBackends(t: { teardown(fn: () => unknown): void }, ips: string[]): Promise<number> {
  return serveOnIps(t, ips, (ip) => (req, res) => {
    if (req.url === '/slow') setTimeout(() => res.end(`${ip} slow`), 800);
    else res.end(ip);
  });
}

async function until(what: string, cond: () => Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await cond().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 30));
  }
  throw new Error(`${what}: not within ${ms} ms`);
}

async function bodies(p: TestProxy, n: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push((await p.request({ path: '/' })).body);
  return out;
}

function dnsCluster(type: string, port: number): { endpoints: { address: string; port: number }[]; extra: Record<string, unknown> } {
  return { endpoints: [{ address: NAME, port }], extra: { type, dns_refresh_rate: '0.1s', dns_lookup_family: 'V4_ONLY' } };
}

t.test('the host resolver asks the given name server, and takes IP literals as they are', async (t) => {
  const dns = await startFakeDnsServer({ [NAME]: ['127.0.0.31', '127.0.0.32'] });
  t.teardown(() => dns.close());
  const r = createHostResolver([dns.address]);
  t.same((await r.resolve(NAME, 'V4_ONLY')).sort(), ['127.0.0.31', '127.0.0.32']);
  t.same(await r.resolve('127.0.0.9', 'AUTO'), ['127.0.0.9']);
  await t.rejects(r.resolve('unknown.example', 'V4_ONLY'), 'an unknown name fails');
});

t.test('STRICT_DNS: every address is a host; re-resolution adds and drains; failures keep the last answer', async (t) => {
  const port = await startBackends(t, ['127.0.0.31', '127.0.0.32', '127.0.0.33']);
  const dns = await startFakeDnsServer({ [NAME]: ['127.0.0.31', '127.0.0.32'] });
  t.teardown(() => dns.close());
  const p = await startTestProxy(t, { routes: [route('/', 'ext')], clusters: { ext: dnsCluster('STRICT_DNS', port) }, dnsResolvers: [dns.address] });
  await until('both addresses answer', async () => new Set(await bodies(p, 6)).size === 2);
  t.same([...new Set(await bodies(p, 6))].sort(), ['127.0.0.31', '127.0.0.32'], 'round robin over the two resolved addresses');
  t.ok(dns.queries.includes(`A ${NAME}`), 'the proxy asked the name server');
  const clusters = await (await fetch(`http://127.0.0.1:${p.adminPort}/clusters`)).text();
  t.match(clusters, new RegExp(`ext::127\\.0\\.0\\.31:${port}::hostname::${NAME}`), '/clusters: each host carries the DNS name');

  dns.records.set(NAME, ['127.0.0.32', '127.0.0.33']);
  await until('the new answer is in force', async () => {
    const seen = new Set(await bodies(p, 6));
    return seen.has('127.0.0.33') && !seen.has('127.0.0.31');
  });
  t.pass('127.0.0.33 joined and 127.0.0.31 left after a refresh');

  dns.failing = true;
  const queriesBefore = dns.queries.length;
  await until('the proxy asked again', async () => dns.queries.length > queriesBefore + 2);
  t.same([...new Set(await bodies(p, 6))].sort(), ['127.0.0.32', '127.0.0.33'], 'SERVFAIL: the last good answer stays');

  dns.failing = false;
  dns.records.delete(NAME);
  const before = dns.queries.length;
  await until('NXDOMAIN seen', async () => dns.queries.length > before + 2);
  t.same([...new Set(await bodies(p, 4))].sort(), ['127.0.0.32', '127.0.0.33'], 'NXDOMAIN is a failure too: the last answer stays');
});

t.test('LOGICAL_DNS: one host, the first address of the answer', async (t) => {
  const port = await startBackends(t, ['127.0.0.34', '127.0.0.35']);
  const dns = await startFakeDnsServer({ [NAME]: ['127.0.0.34', '127.0.0.35'] });
  t.teardown(() => dns.close());
  const p = await startTestProxy(t, { routes: [route('/', 'ext')], clusters: { ext: dnsCluster('LOGICAL_DNS', port) }, dnsResolvers: [dns.address] });
  await until('the cluster has its host', async () => (await p.request({ path: '/' })).status === 200);
  t.same([...new Set(await bodies(p, 6))], ['127.0.0.34'], 'only the first address is used');
  dns.records.set(NAME, ['127.0.0.35']);
  await until('the logical host moved', async () => (await p.request({ path: '/' })).body === '127.0.0.35');
  t.pass('a new answer moves the logical host');
});

t.test('a request before the first answer gets 503 (no healthy upstream), not a crash', async (t) => {
  const dns = await startFakeDnsServer({});
  t.teardown(() => dns.close());
  const p = await startTestProxy(t, { routes: [route('/', 'ext')], clusters: { ext: dnsCluster('STRICT_DNS', 1) }, dnsResolvers: [dns.address] });
  t.equal((await p.request({ path: '/' })).status, 503);
});

t.test('a host that leaves the DNS answer drains: its request in flight completes', async (t) => {
  const port = await startBackends(t, ['127.0.0.36', '127.0.0.37']);
  const dns = await startFakeDnsServer({ [NAME]: ['127.0.0.36'] });
  t.teardown(() => dns.close());
  const p = await startTestProxy(t, { routes: [route('/', 'ext')], clusters: { ext: dnsCluster('STRICT_DNS', port) }, dnsResolvers: [dns.address] });
  await until('the first host answers', async () => (await p.request({ path: '/' })).body === '127.0.0.36');
  const slow = p.request({ path: '/slow' });
  dns.records.set(NAME, ['127.0.0.37']);
  await until('new requests go to the new host', async () => (await p.request({ path: '/' })).body === '127.0.0.37');
  const r = await slow;
  t.equal(r.status, 200);
  t.equal(r.body, '127.0.0.36 slow', 'the request to the host that left finished there');
});

t.test('--dns-resolvers: IP[:PORT] list, a clear error otherwise', async (t) => {
  const o = parseProxyArgs(['--bootstrap', 'b.yaml', '--dns-resolvers', '10.0.0.10, 127.0.0.1:5353,[::1]:53']);
  t.same(o !== 'help' && o.dnsResolvers, ['10.0.0.10', '127.0.0.1:5353', '[::1]:53']);
  t.throws(() => parseProxyArgs(['--bootstrap', 'b.yaml', '--dns-resolvers', 'dns.example.com']), /--dns-resolvers: not an IP\[:PORT\]: dns\.example\.com/);
  t.throws(() => parseProxyArgs(['--bootstrap', 'b.yaml', '--dns-resolvers', '']), /--dns-resolvers/);
});
