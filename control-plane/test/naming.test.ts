import t from 'tap';
import { clusterName, formatNodeId, parseClusterName, parseListenerName, parseNodeId, parseRouteName, proxyIdentity, resolveHost } from '../src/index.js';

t.test('cluster names as Istio builds them, and back', async (t) => {
  const n = clusterName({ direction: 'outbound', port: 8102, host: 'customer-service.default.svc.cluster.local' });
  t.equal(n, 'outbound|8102||customer-service.default.svc.cluster.local');
  t.same(parseClusterName(n), { direction: 'outbound', port: 8102, subset: undefined, host: 'customer-service.default.svc.cluster.local' });
  t.equal(clusterName({ direction: 'inbound', port: 8102 }), 'inbound|8102||');
  t.same(parseClusterName('outbound|9080|v2|reviews.default.svc.cluster.local')?.subset, 'v2');
  t.equal(parseClusterName('PassthroughCluster'), undefined);
  t.equal(parseClusterName('sideways|1||x'), undefined);
  t.same(parseRouteName('8102'), { kind: 'sidecar', port: 8102 });
  t.same(parseRouteName('http.80'), { kind: 'gateway', port: 80 });
  t.same(parseListenerName('0.0.0.0_8102'), { address: '0.0.0.0', port: 8102 });
});

t.test('node ids in Istio form', async (t) => {
  const id = 'sidecar~10.244.0.7~echo-7d9-abc.client~client.svc.cluster.local';
  t.same(parseNodeId(id), { id, type: 'sidecar', ip: '10.244.0.7', podName: 'echo-7d9-abc', namespace: 'client', dnsDomain: 'client.svc.cluster.local' });
  t.equal(formatNodeId({ type: 'router', ip: '10.0.0.1', podName: 'gw', namespace: 'istio-system' }), 'router~10.0.0.1~gw.istio-system~istio-system.svc.cluster.local');
  t.throws(() => parseNodeId('proxy~1~a.b~c'), /type must be sidecar or router/);
  t.throws(() => parseNodeId('sidecar~1~nodot~c'), /POD.NAMESPACE/);
  t.same(proxyIdentity(id, { LABELS: { app: 'echo' } }).labels, { app: 'echo' });
});

t.test('short host names resolve in the namespace', async (t) => {
  t.equal(resolveHost('reviews', 'default'), 'reviews.default.svc.cluster.local');
  t.equal(resolveHost('reviews.other.svc.cluster.local', 'default'), 'reviews.other.svc.cluster.local');
  t.equal(resolveHost('*', 'default'), '*');
});
