/**
 * A DNS cluster's membership update stats on /stats and /stats/prometheus, as Envoy counts
 * them for STRICT_DNS: every lookup of a name is an `update_attempt`; it ends in
 * `update_success` or `update_failure`; a success that gives the same addresses again is also
 * an `update_no_rebuild`; `update_empty` stays 0 (only EDS has empty assignments). The names
 * resolve through a fake name server on loopback.
 */
import t from 'tap';
import { startFakeDnsServer } from '@minimesh/mesh/fake-dns-server';
import { route, startTestProxy, type TestProxy } from './helpers/harness.js';

const NAME = 'stats.external.example';
const KEYS = ['update_attempt', 'update_success', 'update_failure', 'update_empty', 'update_no_rebuild'] as const;
type Updates = Record<(typeof KEYS)[number], number>;

async function updates(p: TestProxy): Promise<Updates> {
  const text = await (await fetch(`http://127.0.0.1:${p.adminPort}/stats`)).text();
  const out = {} as Updates;
  for (const k of KEYS) {
    const m = new RegExp(`^cluster\\.ext\\.${k}: (\\d+)$`, 'm').exec(text);
    if (m === null) throw new Error(`no cluster.ext.${k} in /stats`);
    out[k] = Number(m[1]);
  }
  return out;
}

async function until(what: string, cond: () => Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await cond().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 30));
  }
  throw new Error(`${what}: not within ${ms} ms`);
}

t.test('STRICT_DNS: update_attempt, update_success, update_failure, update_no_rebuild from the periodic resolution', async (t) => {
  const dns = await startFakeDnsServer({ [NAME]: ['127.0.0.41'] });
  t.teardown(() => dns.close());
  const ext = { endpoints: [{ address: NAME, port: 9 }], extra: { type: 'STRICT_DNS', dns_refresh_rate: '0.1s', dns_lookup_family: 'V4_ONLY' } };
  const p = await startTestProxy(t, { routes: [route('/', 'ext')], clusters: { ext }, dnsResolvers: [dns.address] });

  await until('three successful lookups', async () => (await updates(p)).update_success >= 3);
  let u = await updates(p);
  t.equal(u.update_failure, 0);
  t.equal(u.update_empty, 0);
  t.ok(u.update_attempt >= u.update_success && u.update_attempt <= u.update_success + 1, `one attempt per lookup (at most one in flight): ${JSON.stringify(u)}`);
  t.ok(u.update_no_rebuild >= u.update_success - 1 && u.update_no_rebuild < u.update_success, 'every answer after the first was the same: no rebuild');

  // A new address: that success rebuilds the hosts.
  const before = await updates(p);
  dns.records.set(NAME, ['127.0.0.42']);
  await until('the new answer seen', async () => (await (await fetch(`http://127.0.0.1:${p.adminPort}/clusters`)).text()).includes('127.0.0.42'));
  await until('two more lookups', async () => (await updates(p)).update_success >= before.update_success + 3);
  u = await updates(p);
  t.ok(u.update_success - u.update_no_rebuild >= 2, `the first answer and the changed one rebuilt: ${JSON.stringify(u)}`);

  // The name server fails (SERVFAIL), then the name is gone (NXDOMAIN): failures.
  dns.failing = true;
  const okSoFar = (await updates(p)).update_success;
  await until('two failures', async () => (await updates(p)).update_failure >= 2);
  dns.failing = false;
  dns.records.delete(NAME);
  const failedSoFar = (await updates(p)).update_failure;
  await until('NXDOMAIN counts as a failure', async () => (await updates(p)).update_failure >= failedSoFar + 2);
  u = await updates(p);
  t.ok(u.update_success <= okSoFar + 1, 'no success while the name did not resolve (one lookup may have been in flight)');
  t.ok(u.update_attempt >= u.update_success + u.update_failure && u.update_attempt <= u.update_success + u.update_failure + 1, `attempts add up: ${JSON.stringify(u)}`);

  const prom = await (await fetch(`http://127.0.0.1:${p.adminPort}/stats/prometheus`)).text();
  t.match(prom, /# TYPE envoy_cluster_update_failure counter\nenvoy_cluster_update_failure\{envoy_cluster_name="ext"\} \d+/);
  t.match(prom, /envoy_cluster_update_no_rebuild\{envoy_cluster_name="ext"\} \d+/);
});

t.test('a static cluster has no DNS update stats', async (t) => {
  const p = await startTestProxy(t, { routes: [route('/', 's')], clusters: { s: { endpoints: [{ address: '127.0.0.1', port: 9 }] } } });
  const text = await (await fetch(`http://127.0.0.1:${p.adminPort}/stats`)).text();
  t.notMatch(text, /cluster\.s\.update_attempt/);
});
