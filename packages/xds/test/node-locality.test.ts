/** A proxy's `node.locality` reaches the server over real gRPC (the control plane orders endpoints by it). */
import t from 'tap';
import { XdsClient } from '../src/client/xds-client.js';
import { SnapshotCache } from '../src/server/snapshot-cache.js';
import { XdsServer } from '../src/server/xds-server.js';
import { simpleSnapshot } from './helpers/resources.js';

const NODE = 'sidecar~127.0.0.1~c.default~default.svc.cluster.local';

async function run(t: { teardown(fn: () => unknown): void }, locality?: { region?: string; zone?: string; sub_zone?: string }) {
  const cache = new SnapshotCache();
  const server = new XdsServer({ cache });
  const port = await server.listen('127.0.0.1', 0);
  t.teardown(() => server.close(100));
  cache.setSnapshot(NODE, simpleSnapshot('v1', 0, 'c', [1111]));
  const client = new XdsClient({ server: `127.0.0.1:${port}`, node: { id: NODE, cluster: 'c.default', ...(locality ? { locality } : {}) }, onConfig: () => undefined, backoff: { initialMs: 50, maxMs: 200 } });
  client.start();
  t.teardown(() => client.close());
  const end = Date.now() + 5000;
  while (server.syncStatus().length === 0) {
    if (Date.now() > end) throw new Error('the client never connected');
    await new Promise((r) => setTimeout(r, 10));
  }
  return server.syncStatus()[0];
}

t.test('node.locality is recorded with the stream', async (t) => {
  const st = await run(t, { region: 'us-east1', zone: 'us-east1-b' });
  t.same(st.locality, { region: 'us-east1', zone: 'us-east1-b', sub_zone: '' });
});

t.test('no locality sent: none recorded', async (t) => {
  const st = await run(t);
  t.equal(st.locality, undefined);
});
