/** `minimesh proxy --xds`: flags and the node identity from Istio's environment. */
import t from 'tap';
import { parseProxyArgs } from '../src/main.js';
import { defaultNodeCluster, nodeFromEnv } from '../src/xds-mode.js';

t.test('node identity from the pod environment, as Istio builds it', async (t) => {
  const env = { POD_NAME: 'reviews-v1-5d8f7c9b4-x2k4p', POD_NAMESPACE: 'bookinfo', INSTANCE_IP: '10.244.0.7', ISTIO_META_WORKLOAD_NAME: 'reviews-v1', ISTIO_METAJSON_LABELS: '{"app":"reviews","version":"v1"}' };
  const n = nodeFromEnv('sidecar', {}, env);
  t.equal(n.id, 'sidecar~10.244.0.7~reviews-v1-5d8f7c9b4-x2k4p.bookinfo~bookinfo.svc.cluster.local');
  t.equal(n.cluster, 'reviews-v1.bookinfo');
  t.same(n.metadata, { NAMESPACE: 'bookinfo', POD_NAME: 'reviews-v1-5d8f7c9b4-x2k4p', INSTANCE_IPS: '10.244.0.7', WORKLOAD_NAME: 'reviews-v1', LABELS: { app: 'reviews', version: 'v1' } });
  t.match(nodeFromEnv('router', {}, env).id, /^router~10\.244\.0\.7~/);
  t.equal(nodeFromEnv('sidecar', { id: 'x', cluster: 'y' }, env).id, 'x');
  t.equal(defaultNodeCluster(undefined, 'ns'), 'istio-proxy');
});

t.test("the injected pod's labels: the downward-API file /etc/istio/pod/labels, as Istio's agent reads it", async (t) => {
  const dir = t.testdir({ labels: 'app="reviews"\nservice.istio.io/canonical-name="reviews"\nversion="v1"\nquote="a \\"b\\""\n' });
  const env = { POD_NAME: 'reviews-v1-5d8f7c9b4-x2k4p', POD_NAMESPACE: 'bookinfo', INSTANCE_IP: '10.244.0.7', ISTIO_META_OWNER: 'kubernetes://apis/apps/v1/namespaces/bookinfo/deployments/reviews-v1' };
  const n = nodeFromEnv('sidecar', {}, env, `${dir}/labels`);
  t.same(n.metadata?.LABELS, { app: 'reviews', 'service.istio.io/canonical-name': 'reviews', version: 'v1', quote: 'a "b"' }, 'read into LABELS');
  t.equal(n.metadata?.OWNER, 'kubernetes://apis/apps/v1/namespaces/bookinfo/deployments/reviews-v1', 'beside the injected ISTIO_META_*');
  t.same(nodeFromEnv('sidecar', {}, { ...env, ISTIO_METAJSON_LABELS: '{"app":"x"}' }, `${dir}/labels`).metadata?.LABELS, { app: 'x' }, 'ISTIO_METAJSON_LABELS wins');
  t.equal(nodeFromEnv('sidecar', {}, env, `${dir}/absent`).metadata?.LABELS, undefined, 'no file (not in a pod): no LABELS');
});

t.test('--xds flags', async (t) => {
  const o = parseProxyArgs(['--xds', '127.0.0.1:15010', '--node-id', 'sidecar~1.2.3.4~a.b~b.svc.cluster.local', '--node-cluster', 'a.b', '--health-port', '0']);
  if (o === 'help') throw new Error('help');
  t.equal(o.xds?.server, '127.0.0.1:15010');
  t.equal(o.xds?.node.id, 'sidecar~1.2.3.4~a.b~b.svc.cluster.local');
  t.equal(o.xds?.adminAddress, '127.0.0.1');
  t.equal(o.xds?.adminPort, 15000);
  t.same(o.xds?.prometheusPorts, [15090], 'Prometheus on 15090 (and the agent port 15020), as in an Istio pod');
  t.equal(o.xds?.agentPort, 15020, 'the agent port 15020');
  const off = parseProxyArgs(['--xds', 'h:1', '--prometheus-ports', 'off']);
  t.same(off !== 'help' && off.xds?.prometheusPorts, [], 'off');
  const boot = parseProxyArgs(['--bootstrap', 'b.yaml']);
  t.same(boot !== 'help' && [boot.prometheusPorts, boot.healthPort, boot.agentPort], [[], undefined, undefined], 'no 15090, 15021 or 15020 by default with a bootstrap');
  const asked = parseProxyArgs(['--bootstrap', 'b.yaml', '--health-port', '15021', '--agent-port', '15020', '--prometheus-ports', '15090']);
  t.same(asked !== 'help' && [asked.prometheusPorts, asked.healthPort, asked.agentPort], [[15090], 15021, 15020], 'each when a flag asks for it');
  const xdsDefault = parseProxyArgs(['--xds', 'h:1']);
  t.equal(xdsDefault !== 'help' && xdsDefault.healthPort, 15021, 'with --xds: readiness on 15021, as in an Istio pod');
  t.throws(() => parseProxyArgs(['--xds', 'h:1', '--prometheus-ports', '15090,x']), /--prometheus-ports: not a port/);
  t.throws(() => parseProxyArgs(['--xds', 'nohost']), /HOST:PORT/);
  t.throws(() => parseProxyArgs(['--xds', 'h:1', '--type', 'gateway']), /sidecar or router/);
  t.throws(() => parseProxyArgs(['--xds', 'h:1', '--bootstrap', 'b.yaml']), /exclude/);
  t.throws(() => parseProxyArgs([]), /--bootstrap FILE is required/);
});
