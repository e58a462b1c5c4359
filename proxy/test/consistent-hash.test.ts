/**
 * Consistent hashing: the RING_HASH and MAGLEV balancers keep a key on its host while other hosts
 * come and go (minimal disruption, measured over 20,000 keys), follow weights, and skip hosts a
 * retry has tried; through the proxy, `hash_policy` by header, cookie (made with its TTL when
 * missing), source IP and query parameter pins requests to one upstream.
 */
import t from 'tap';
import { parseBootstrap } from '@minimesh/api';
import { compileBootstrap } from '@minimesh/config';
import { buildBootstrap, route, startTestProxy, startUpstream, type ProxySpec, type TestLike, type Upstream, type UpHandler } from './helpers/harness.js';
import { RingHash } from '../src/upstream/lb/ring-hash.js';
import { Maglev } from '../src/upstream/lb/maglev.js';
import { hash32 } from '../src/upstream/lb/hash-key.js';
import type { LbHost, LoadBalancer } from '../src/upstream/lb/load-balancer.js';

const host = (i: number, weight = 1): LbHost => ({ key: `10.0.0.${i}:8080`, weight, activeRequests: 0 });
const KEYS = Array.from({ length: 20_000 }, (_, i) => hash32(`user-${i}`));

function owners(lb: LoadBalancer<LbHost>): string[] {
  return KEYS.map((k) => lb.pick(null, k)!.key);
}

for (const [name, make] of [
  ['RING_HASH', (hs: LbHost[]) => new RingHash(hs)],
  ['MAGLEV', (hs: LbHost[]) => new Maglev(hs)],
] as const) {
  t.test(`${name}: minimal disruption when a host leaves or joins`, async (t) => {
    const five = [1, 2, 3, 4, 5].map((i) => host(i));
    const before = owners(make(five));
    const shares = new Map<string, number>();
    for (const o of before) shares.set(o, (shares.get(o) ?? 0) + 1);
    for (const [k, n] of shares) t.ok(n > 20_000 / 5 * 0.7 && n < 20_000 / 5 * 1.3, `${k} holds ${n} keys (about a fifth)`);
    // Host 3 leaves: only its keys move.
    const without3 = owners(make(five.filter((h) => h.key !== host(3).key)));
    let movedOthers = 0;
    before.forEach((o, i) => {
      if (o !== host(3).key && without3[i] !== o) movedOthers++;
    });
    const limit = name === 'RING_HASH' ? 0 : 0.02;
    t.ok(movedOthers <= limit * KEYS.length, `${movedOthers} keys of the staying hosts moved (${name === 'RING_HASH' ? 'none' : 'a few, Maglev'})`);
    // Host 6 joins: about a sixth of the keys move, all to it.
    const with6 = owners(make([...five, host(6)]));
    let moved = 0;
    let movedElsewhere = 0;
    before.forEach((o, i) => {
      if (with6[i] !== o) {
        moved++;
        if (with6[i] !== host(6).key) movedElsewhere++;
      }
    });
    t.ok(moved > KEYS.length / 6 * 0.7 && moved < KEYS.length / 6 * 1.3, `${moved} keys moved to the new host (about a sixth)`);
    t.ok(movedElsewhere <= limit * KEYS.length, `${movedElsewhere} moved between old hosts`);
  });

  t.test(`${name}: weights, retries skip tried hosts, no hosts`, async (t) => {
    const lb = make([host(1, 3), host(2, 1)]);
    const heavy = owners(lb).filter((k) => k === host(1).key).length / KEYS.length;
    t.ok(heavy > 0.65 && heavy < 0.85, `weight 3 of 4 holds ${(heavy * 100).toFixed(0)} % of the keys`);
    const first = lb.pick(null, KEYS[0])!;
    const again = lb.pick(new Set([first]), KEYS[0])!;
    t.not(again.key, first.key, 'a retry goes to another host');
    t.equal(make([]).pick(null, 1), undefined);
  });
}

const tagged = (tag: string): UpHandler => (_req, res) => res.send(200, {}, tag);

async function hashProxy(t: TestLike, lbPolicy: string, policy: Record<string, unknown>, extra: Record<string, unknown> = {}): Promise<{ p: Awaited<ReturnType<typeof startTestProxy>>; ups: Upstream[] }> {
  const ups = [await startUpstream(t, tagged('a')), await startUpstream(t, tagged('b')), await startUpstream(t, tagged('c'))];
  const p = await startTestProxy(t, { routes: [route('/', 'c', { hash_policy: [policy] })], clusters: { c: { endpoints: ups.map((u) => u.port), extra: { lb_policy: lbPolicy, ...extra } } } });
  return { p, ups };
}

t.test('hash_policy by header: one user, one upstream; users spread', async (t) => {
  for (const lb of ['RING_HASH', 'MAGLEV']) {
    const { p } = await hashProxy(t, lb, { header: { header_name: 'x-user' } });
    const seen = new Map<string, Set<string>>();
    for (let u = 0; u < 12; u++)
      for (let i = 0; i < 4; i++) {
        const r = await p.request({ headers: { 'x-user': `u${u}` } });
        if (!seen.has(`u${u}`)) seen.set(`u${u}`, new Set());
        seen.get(`u${u}`)!.add(r.body);
      }
    t.ok([...seen.values()].every((s) => s.size === 1), `${lb}: each user always lands on the same upstream`);
    t.ok(new Set([...seen.values()].map((s) => [...s][0])).size > 1, `${lb}: users spread over the upstreams`);
  }
});

t.test('hash_policy by cookie with a TTL: the proxy makes the cookie, and the cookie pins the upstream', async (t) => {
  const { p } = await hashProxy(t, 'RING_HASH', { cookie: { name: 'session', ttl: '3600s', path: '/' } });
  const first = await p.request();
  const setCookie = String(first.headers['set-cookie']);
  t.match(setCookie, /^session="[0-9a-f]{8}"; Max-Age=3600; Path=\/; HttpOnly$/);
  const cookie = setCookie.split(';')[0];
  const bodies = new Set<string>();
  for (let i = 0; i < 8; i++) {
    const r = await p.request({ headers: { cookie } });
    bodies.add(r.body);
    t.notOk('set-cookie' in r.headers, 'no new cookie once the client has one');
  }
  t.equal(bodies.size, 1);
  t.ok(bodies.has(first.body), 'the first request went where the cookie points');
});

t.test('hash_policy by source IP and by query parameter', async (t) => {
  const src = await hashProxy(t, 'MAGLEV', { connection_properties: { source_ip: true } });
  const fromHere = new Set<string>();
  for (let i = 0; i < 6; i++) fromHere.add((await src.p.request()).body);
  t.equal(fromHere.size, 1, 'one client address, one upstream');
  const q = await hashProxy(t, 'RING_HASH', { query_parameter: { name: 'id' } });
  const byId = new Map<string, Set<string>>();
  for (let id = 0; id < 8; id++)
    for (let i = 0; i < 3; i++) {
      const r = await q.p.request({ path: `/item?id=${id}&x=${i}` });
      if (!byId.has(String(id))) byId.set(String(id), new Set());
      byId.get(String(id))!.add(r.body);
    }
  t.ok([...byId.values()].every((s) => s.size === 1), 'each id keeps its upstream whatever else the query has');
});

t.test('config: Maglev table size must be prime; lb config needs its policy; bad hash policies name the field', async (t) => {
  const compile = (s: ProxySpec): string => {
    const parsed = parseBootstrap(JSON.stringify(buildBootstrap(s, undefined)), 'b.yaml');
    if (!parsed.ok) return JSON.stringify(parsed.errors);
    const r = compileBootstrap(parsed.value);
    return r.ok ? '' : r.errors.map((e) => `${e.path}: ${e.message}`).join('\n');
  };
  t.match(compile({ routes: [route('/', 'c')], clusters: { c: { endpoints: [1], extra: { lb_policy: 'MAGLEV', maglev_lb_config: { table_size: 65536 } } } } }), /maglev_lb_config\.table_size: must be a prime number/);
  t.match(compile({ routes: [route('/', 'c')], clusters: { c: { endpoints: [1], extra: { ring_hash_lb_config: { minimum_ring_size: 64 } } } } }), /ring_hash_lb_config: needs lb_policy RING_HASH/);
  t.match(compile({ routes: [route('/', 'c', { hash_policy: [{ cookie: {} }] })], clusters: { c: [1] } }), /hash_policy\[0\]\.cookie\.name: must not be empty/);
  t.equal(compile({ routes: [route('/', 'c', { hash_policy: [{ header: { header_name: 'x-user' }, terminal: true }] })], clusters: { c: { endpoints: [1], extra: { lb_policy: 'RING_HASH', ring_hash_lb_config: { minimum_ring_size: 64 } } } } }), '');
});
