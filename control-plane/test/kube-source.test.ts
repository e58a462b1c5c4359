/** The Kubernetes source's list/watch handling, against a fake transport. */
import t from 'tap';
import { KubeSource, WATCHED_KINDS, type KubeTransport, type WatchEventType, type WatchedKind } from '../src/index.js';

const KINDS: WatchedKind[] = [{ apiVersion: 'v1', kind: 'Service', path: '/api/v1/services' }];
const svc = (name: string, rv: string, port: number | string = 80) => ({ metadata: { name, namespace: 'default', resourceVersion: rv }, spec: { ports: [{ name: 'http', port }] } });

class FakeTransport implements KubeTransport {
  items: unknown[] = [svc('a', '1')];
  rv = '10';
  watches: { rv: string; emit: (t: WatchEventType, o: unknown) => void; end: (err?: unknown) => void }[] = [];
  async list() {
    return { items: this.items, resourceVersion: this.rv };
  }
  async watch(_k: WatchedKind, rv: string, onEvent: (t: WatchEventType, o: unknown) => void, onDone: (err?: unknown) => void) {
    this.watches.push({ rv, emit: onEvent, end: onDone });
    return () => {};
  }
}

const tick = () => new Promise((r) => setImmediate(r));

t.test('lists, watches from the list version, applies events, relists on 410 Gone', async (t) => {
  const tr = new FakeTransport();
  const changes: string[][] = [];
  const issues: string[] = [];
  const src = new KubeSource({
    transport: tr,
    kinds: KINDS,
    retryMs: 5,
    onChange: (rs) => changes.push(rs.map((r) => r.metadata.name).sort()),
    onIssues: (is) => issues.push(...is.map((i) => `${i.kind} ${i.namespace}/${i.name}: ${i.field}: ${i.message}`)),
  });
  t.teardown(() => src.stop());
  await src.start();
  t.same(changes.at(-1), ['a']);
  t.equal(tr.watches[0].rv, '10', 'watch starts at the list resourceVersion');

  tr.watches[0].emit('ADDED', { apiVersion: 'v1', kind: 'Service', ...svc('b', '11') });
  t.same(changes.at(-1), ['a', 'b']);
  tr.watches[0].emit('MODIFIED', { apiVersion: 'v1', kind: 'Service', ...svc('b', '12', 99999) });
  t.same(issues, ['Service default/b: spec.ports[0].port: must be an integer 1..65535'], 'invalid object reported');
  t.same(changes.length, 2, 'invalid version skipped: b keeps its last good version');
  tr.watches[0].emit('BOOKMARK', { metadata: { resourceVersion: '13' } });
  t.equal(src.resourceVersion('Service'), '13');
  tr.watches[0].emit('DELETED', { ...svc('a', '14') });
  t.same(changes.at(-1), ['b']);

  // The watch closes cleanly: resumed from the last version seen.
  tr.watches[0].end();
  await tick();
  t.equal(tr.watches[1].rv, '14');

  // 410 Gone: relist (the list is the truth now) and watch from its version.
  tr.items = [svc('c', '20')];
  tr.rv = '20';
  tr.watches[1].emit('ERROR', { kind: 'Status', code: 410, message: 'too old resource version' });
  tr.watches[1].end();
  await tick();
  await tick();
  t.equal(src.listCount.get('Service'), 2, 'relisted');
  t.same(changes.at(-1), ['c']);
  t.equal(tr.watches[2].rv, '20');
});

t.test("one kind's list failing (Istio CRDs missing: 404) is reported and retried; the rest starts", async (t) => {
  const VS: WatchedKind = { apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', path: '/apis/networking.istio.io/v1/virtualservices' };
  const tr = new FakeTransport();
  let vsFailures = 2;
  const list = tr.list.bind(tr);
  tr.list = async (k?: WatchedKind) => {
    if (k?.kind !== 'VirtualService') return list();
    if (vsFailures-- > 0) throw Object.assign(new Error(`GET ${VS.path}: 404 page not found`), { statusCode: 404 });
    return { items: [{ metadata: { name: 'reviews', namespace: 'default' }, spec: { hosts: ['reviews'], http: [{ route: [{ destination: { host: 'reviews' } }] }] } }], resourceVersion: '5' };
  };
  const changes: string[][] = [];
  const issues: string[] = [];
  const src = new KubeSource({
    transport: tr,
    kinds: [...KINDS, VS],
    retryMs: 5,
    onChange: (rs) => changes.push(rs.map((r) => `${r.kind}/${r.metadata.name}`).sort()),
    onIssues: (is) => issues.push(...is.map((i) => `${i.kind} ${i.name}: ${i.message}`)),
  });
  t.teardown(() => src.stop());
  await src.start();
  t.same(changes, [['Service/a']], 'started with the kinds that listed');
  t.match(issues[0], /^VirtualService \(list\): cannot list VirtualService \(networking\.istio\.io\/v1, GET \/apis\/networking\.istio\.io\/v1\/virtualservices\): status 404 .*: GET .* 404 page not found; retrying in/);
  const deadline = Date.now() + 2000;
  while (changes.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  t.same(changes.at(-1), ['Service/a', 'VirtualService/reviews'], 'the kind joins once it lists');
  t.equal(src.listCount.get('VirtualService'), 3, 'retried until it listed');
  t.equal(issues.length, 2, 'each failure reported');
});

t.test('Secrets: certificate-holding types are read, tokens and other types are not', async (t) => {
  const secretKind = WATCHED_KINDS.find((k) => k.kind === 'Secret')!;
  t.same(secretKind, { apiVersion: 'v1', kind: 'Secret', path: '/api/v1/secrets' }, 'Secrets are watched');
  const tr = new FakeTransport();
  const sec = (name: string, type: string) => ({ metadata: { name, namespace: 'istio-system', resourceVersion: '1' }, type, stringData: { 'tls.crt': 'x', 'tls.key': 'y' } });
  tr.items = [sec('tls', 'kubernetes.io/tls'), sec('generic', 'Opaque'), sec('token', 'kubernetes.io/service-account-token'), sec('helm', 'helm.sh/release.v1')];
  const changes: string[][] = [];
  const src = new KubeSource({ transport: tr, kinds: [secretKind], retryMs: 5, onChange: (rs) => changes.push(rs.map((r) => r.metadata.name).sort()) });
  t.teardown(() => src.stop());
  await src.start();
  t.same(changes.at(-1), ['generic', 'tls']);
});
