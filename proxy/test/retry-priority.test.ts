/**
 * Retries across priorities (Envoy's previous_priorities retry priority, what a VirtualService's
 * `retries.retryRemoteLocalities` turns into) and the previous_hosts predicate, on real sockets.
 * A local endpoint at priority 0 answers 503 while staying healthy, a remote one at priority 1
 * answers 200. Priority 0 has all the load, so without a retry priority every try stays local;
 * with update_frequency 2 (as the control plane writes it) the third try excludes priority 0 and
 * goes remote; with update_frequency 1 the first retry already does.
 */
import t from 'tap';
import { loadsExcluding, PreviousPriorities } from '../src/upstream/lb/retry-priority.js';
import { route, startTestProxy, startUpstream, type Upstream, type UpHandler } from './helpers/harness.js';

const PRIORITIES_TYPE = 'type.googleapis.com/envoy.extensions.retry.priority.previous_priorities.v3.PreviousPrioritiesConfig';
const HOSTS_TYPE = 'type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate';
const unavailable: UpHandler = (_req, res) => res.send(503, {}, 'local is failing');
const named = (name: string): UpHandler => (req, res) => res.send(200, { 'x-attempt': req.headers['x-envoy-attempt-count'] ?? '' }, name);

function lle(ups: Upstream[], zone: string, priority: number): Record<string, unknown> {
  return {
    locality: { region: 'r1', zone, sub_zone: '' },
    priority,
    lb_endpoints: ups.map((u) => ({ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: u.port } } } })),
  };
}

async function twoPriorities(t: Parameters<typeof startUpstream>[0], retryPolicy: Record<string, unknown>) {
  const local = await startUpstream(t, unavailable);
  const remote = await startUpstream(t, named('remote'));
  const extra = { lb_policy: 'ROUND_ROBIN', load_assignment: { cluster_name: 'c', endpoints: [lle([local], 'z-local', 0), lle([remote], 'z-remote', 1)] } };
  const p = await startTestProxy(t, { routes: [route('/', 'c', { retry_policy: retryPolicy })], clusters: { c: { endpoints: [], extra } } });
  return { local, remote, p };
}

const priority = (f: number) => ({ name: 'envoy.retry_priorities.previous_priorities', typed_config: { '@type': PRIORITIES_TYPE, update_frequency: f } });

t.test('without a retry priority, retries stay on the healthy-but-failing priority 0', async (t) => {
  const { local, remote, p } = await twoPriorities(t, { retry_on: '5xx', num_retries: 2, retry_back_off: { base_interval: '0.001s' } });
  const r = await p.request();
  t.equal(r.status, 503);
  t.equal(local.requests.length, 3, 'all three tries went to the local endpoint');
  t.equal(remote.requests.length, 0);
});

t.test('previous_priorities, update_frequency 2 (retryRemoteLocalities): the third try goes to priority 1', async (t) => {
  const { local, remote, p } = await twoPriorities(t, { retry_on: '5xx', num_retries: 2, retry_back_off: { base_interval: '0.001s' }, retry_priority: priority(2) });
  for (let i = 0; i < 3; i++) {
    const r = await p.request();
    t.equal(r.status, 200);
    t.equal(r.body, 'remote');
    t.equal(r.headers['x-attempt'], '3', 'tries 1 and 2 used the cluster loads (priority 0), try 3 did not');
  }
  t.equal(local.requests.length, 6);
  t.equal(remote.requests.length, 3);
});

t.test('previous_priorities, update_frequency 2, one retry: the retry still uses the original loads', async (t) => {
  const { local, remote, p } = await twoPriorities(t, { retry_on: '5xx', num_retries: 1, retry_back_off: { base_interval: '0.001s' }, retry_priority: priority(2) });
  t.equal((await p.request()).status, 503);
  t.equal(local.requests.length, 2);
  t.equal(remote.requests.length, 0);
});

t.test('previous_priorities, update_frequency 1: the first retry goes to priority 1', async (t) => {
  const { local, remote, p } = await twoPriorities(t, { retry_on: '5xx', num_retries: 1, retry_back_off: { base_interval: '0.001s' }, retry_priority: priority(1) });
  const r = await p.request();
  t.equal(r.status, 200);
  t.equal(r.headers['x-attempt'], '2');
  t.equal(local.requests.length, 1);
  t.equal(remote.requests.length, 1);
});

async function weightedPair(t: Parameters<typeof startUpstream>[0], predicate: boolean) {
  const bad = await startUpstream(t, unavailable);
  const good = await startUpstream(t, named('good'));
  // Smooth weighted round robin, 2:1: picks go bad, good, bad, bad, good, bad, ...
  const eps = [bad, good].map((u, i) => ({ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: u.port } } }, load_balancing_weight: i === 0 ? 2 : 1 }));
  const extra = { lb_policy: 'ROUND_ROBIN', load_assignment: { cluster_name: 'c', endpoints: [{ lb_endpoints: eps }] } };
  const hosts = predicate ? { retry_host_predicate: [{ name: 'envoy.retry_host_predicates.previous_hosts', typed_config: { '@type': HOSTS_TYPE } }], host_selection_retry_max_attempts: 5 } : {};
  const retryPolicy = { retry_on: '5xx', num_retries: 1, retry_back_off: { base_interval: '0.001s' }, ...hosts };
  const p = await startTestProxy(t, { routes: [route('/', 'c', { retry_policy: retryPolicy })], clusters: { c: { endpoints: [], extra } } });
  const statuses: number[] = [];
  for (let i = 0; i < 11; i++) statuses.push((await p.request()).status);
  return { bad, good, statuses };
}

t.test('previous_hosts: a retry goes to a host this request has not tried', async (t) => {
  const { bad, statuses } = await weightedPair(t, true);
  t.same(statuses, Array(11).fill(200), 'each retry left the failing host');
  t.ok(bad.requests.length >= 7, 'the failing host still had most first tries');
});

t.test('without previous_hosts the balancer alone picks the retry: it may be the host that failed', async (t) => {
  const { statuses } = await weightedPair(t, false);
  t.ok(statuses.filter((s) => s === 503).length >= 2, `failed twice on the same host: ${statuses.join(' ')}`);
});

t.test('a retry priority the proxy does not know is an error naming the field', async (t) => {
  const up = await startUpstream(t);
  const extra = { load_assignment: { cluster_name: 'c', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: up.port } } } }] }] } };
  const start = (rp: Record<string, unknown>) => startTestProxy(t, { routes: [route('/', 'c', { retry_policy: { retry_on: '5xx', retry_priority: rp } })], clusters: { c: { endpoints: [], extra } } });
  await t.rejects(start({ name: 'envoy.retry_priorities.other' }), /retry_policy\.retry_priority\.name: retry priority "envoy\.retry_priorities\.other" not supported/);
  await t.rejects(start({ name: 'envoy.retry_priorities.previous_priorities', typed_config: { '@type': PRIORITIES_TYPE, update_frequency: 0 } }), /retry_priority\.typed_config\.update_frequency: must be greater than 0/);
});

t.test('loads without the tried levels, by health; back to the cluster loads when none is left', async (t) => {
  t.same(loadsExcluding([100, 100], new Set([0])), [0, 100]);
  t.same(loadsExcluding([100, 70, 70], new Set([0])), [0, 70, 30], 'the total is capped at 100, leftovers to the first levels');
  t.same(loadsExcluding([50, 20, 10], new Set([1])), [84, 0, 16]);
  t.equal(loadsExcluding([100, 0], new Set([0])), undefined);

  const original = [100, 0, 0];
  const health = [100, 100, 100];
  const pp = new PreviousPriorities(2);
  t.same(pp.priorityLoads(health, original), original, 'first try');
  pp.onHostAttempted(0);
  t.same(pp.priorityLoads(health, original), original, 'second try: one attempt, under update_frequency');
  pp.onHostAttempted(0);
  t.same(pp.priorityLoads(health, original), [0, 100, 0], 'third try: priority 0 excluded');
  pp.onHostAttempted(1);
  t.same(pp.priorityLoads(health, original), [0, 100, 0], 'fourth try: no update between multiples');
  pp.onHostAttempted(1);
  t.same(pp.priorityLoads(health, original), [0, 0, 100], 'fifth try: 0 and 1 excluded');
  pp.onHostAttempted(2);
  pp.onHostAttempted(2);
  t.same(pp.priorityLoads(health, original), original, 'every level tried: the cluster loads again');
});
