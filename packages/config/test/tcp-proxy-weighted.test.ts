/** tcp_proxy `weighted_clusters`: compiled (with the errors Envoy would give) and picked by weight per connection. */
import t from 'tap';
import { fromJsonData, TYPE_URL, type Listener } from '@minimesh/api';
import { compileListener, pickTcpCluster } from '../src/index.js';

const listener = (tcpProxy: Record<string, unknown>) => {
  const p = fromJsonData<Listener>(TYPE_URL.Listener, {
    name: 'l',
    address: { socket_address: { address: '127.0.0.1', port_value: 1 } },
    filter_chains: [{ filters: [{ name: 'envoy.filters.network.tcp_proxy', typed_config: { '@type': TYPE_URL.TcpProxy, stat_prefix: 's', ...tcpProxy } }] }],
  });
  if (!p.ok) throw new Error(JSON.stringify(p.errors));
  return compileListener(p.value);
};

t.test('weighted_clusters compile, and each connection picks by weight', async (t) => {
  const r = listener({ weighted_clusters: { clusters: [{ name: 'a', weight: 80 }, { name: 'b', weight: 20 }] } });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  const tp = r.value.tcpProxy!;
  t.same(tp.weightedClusters, [{ name: 'a', weight: 80 }, { name: 'b', weight: 20 }]);
  t.equal(tp.cluster, 'a');
  t.equal(pickTcpCluster(tp, 0), 'a');
  t.equal(pickTcpCluster(tp, 0.79), 'a');
  t.equal(pickTcpCluster(tp, 0.8), 'b');
  t.equal(pickTcpCluster(tp, 0.999), 'b');
  t.equal(pickTcpCluster({ ...tp, weightedClusters: undefined, cluster: 'one' }), 'one');
  const bad = listener({ weighted_clusters: { clusters: [{ name: 'a', weight: 0 }] } });
  t.notOk(bad.ok);
  t.match(JSON.stringify(!bad.ok && bad.errors), /the weights must not all be 0/);
  const none = listener({});
  t.match(JSON.stringify(!none.ok && none.errors), /must not be empty \(or give weighted_clusters\)/);
});
