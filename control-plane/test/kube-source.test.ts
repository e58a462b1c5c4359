/** The Kubernetes source's list/watch handling, against a fake transport. */
import t from 'tap';
import { KubeSource, type KubeTransport, type WatchEventType, type WatchedKind } from '../src/index.js';

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
