/**
 * Locality failover through the proxy, real sockets: endpoints of the proxy's own zone at
 * priority 0, another zone's at priority 1 (as the control plane assigns them). Traffic stays
 * local while the local host is healthy; when outlier detection ejects it, traffic fails over
 * to the other zone, and comes back after the ejection time. Locality-weighted balancing
 * splits load by the localities' weights.
 */
import t from 'tap';
import { nodeFromEnv } from '../src/xds-mode.js';
import { route, sleep, startTestProxy, startUpstream, type Upstream, type UpHandler } from './helpers/harness.js';

const fail500: UpHandler = (_req, res) => res.send(500, {}, 'boom');
const named = (name: string): UpHandler => (_req, res) => res.send(200, {}, name);

function lle(ups: Upstream[], zone: string, priority: number, weight: number): Record<string, unknown> {
  return {
    locality: { region: 'us-east1', zone, sub_zone: '' },
    priority,
    load_balancing_weight: weight,
    lb_endpoints: ups.map((u) => ({ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: u.port } } } })),
  };
}

async function bodies(request: () => Promise<{ status: number; body: string }>, n: number): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const r = await request();
    const k = r.status === 200 ? r.body : String(r.status);
    out[k] = (out[k] ?? 0) + 1;
  }
  return out;
}

t.test('the local zone is ejected by outlier detection: traffic fails over to the next priority, then returns', async (t) => {
  const local = await startUpstream(t, named('local'));
  const remote1 = await startUpstream(t, named('remote'));
  const remote2 = await startUpstream(t, named('remote'));
  const extra = {
    lb_policy: 'ROUND_ROBIN',
    load_assignment: { cluster_name: 'c', endpoints: [lle([local], 'us-east1-a', 0, 1), lle([remote1, remote2], 'us-east1-b', 1, 2)] },
    outlier_detection: { consecutive_5xx: 3, interval: '0.1s', base_ejection_time: '0.8s', max_ejection_percent: 100, enforcing_success_rate: 0 },
    common_lb_config: { healthy_panic_threshold: { value: 0 }, locality_weighted_lb_config: {} },
  };
  const p = await startTestProxy(t, { routes: [route('/', 'c')], clusters: { c: { endpoints: [], extra } } });
  t.same(await bodies(() => p.request(), 10), { local: 10 }, 'all healthy: only the local zone (priority 0)');

  local.handler = fail500;
  t.same(await bodies(() => p.request(), 3), { '500': 3 }, 'three 5xx from the local host...');
  t.same(await bodies(() => p.request(), 10), { remote: 10 }, '...then it is ejected and the other zone takes every request');
  t.equal(local.requests.length, 13);
  const clusters = await (await fetch(`http://127.0.0.1:${p.adminPort}/clusters`)).text();
  t.match(clusters, new RegExp(`c::127\\.0\\.0\\.1:${local.port}::health_flags::/failed_outlier_check`));
  t.match(clusters, new RegExp(`c::127\\.0\\.0\\.1:${remote1.port}::zone::us-east1-b\n`));
  t.match(clusters, new RegExp(`c::127\\.0\\.0\\.1:${remote1.port}::priority::1\n`));

  local.handler = named('local');
  const deadline = Date.now() + 5_000;
  let back = false;
  while (!back && Date.now() < deadline) {
    back = (await p.request()).body === 'local';
    if (!back) await sleep(100);
  }
  t.ok(back, 'after the ejection time the local zone has the traffic again');
  t.same(await bodies(() => p.request(), 5), { local: 5 });
});

t.test('locality-weighted balancing: load by locality weight within a priority', async (t) => {
  const a = await startUpstream(t, named('a'));
  const b = await startUpstream(t, named('b'));
  const c = await startUpstream(t, named('c'));
  const extra = {
    load_assignment: { cluster_name: 'c', endpoints: [lle([a], 'z-a', 0, 1), lle([b], 'z-b', 0, 3), lle([c], 'z-c', 1, 1)] },
    common_lb_config: { locality_weighted_lb_config: {} },
  };
  const p = await startTestProxy(t, { routes: [route('/', 'c')], clusters: { c: { endpoints: [], extra } } });
  t.same(await bodies(() => p.request(), 40), { a: 10, b: 30 }, '1:3, nothing to priority 1');
});

t.test('config errors name the field', async (t) => {
  const up = await startUpstream(t);
  const ep = { endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: up.port } } } };
  const bad = (lleExtra: Record<string, unknown>) => startTestProxy(t, { routes: [route('/', 'c')], clusters: { c: { endpoints: [], extra: { load_assignment: { cluster_name: 'c', endpoints: [{ lb_endpoints: [ep], ...lleExtra }] } } } } });
  await t.rejects(bad({ priority: 500 }), /load_assignment\.endpoints\[0\]\.priority: must be an integer 0\.\.127/);
  await t.rejects(bad({ locality: { region: 'r', planet: 'x' } }), /load_assignment\.endpoints\[0\]\.locality\.planet/);
  await t.rejects(bad({ load_balancing_weight: 0 }), /load_assignment\.endpoints\[0\]\.load_balancing_weight: must be at least 1/);
});

t.test("the proxy's node.locality from its istio-locality label (as Istio's agent); none without it", async (t) => {
  const env = { POD_NAME: 'sleep-1', POD_NAMESPACE: 'default', INSTANCE_IP: '10.0.0.2', ISTIO_METAJSON_LABELS: '{"app":"sleep","istio-locality":"us-east1.us-east1-a"}' };
  t.same(nodeFromEnv('sidecar', {}, env).locality, { region: 'us-east1', zone: 'us-east1-a', sub_zone: '' });
  t.equal(nodeFromEnv('sidecar', {}, { ...env, ISTIO_METAJSON_LABELS: '{"app":"sleep"}' }).locality, undefined);
});
