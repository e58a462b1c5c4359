/** Istio's app probe rewrite: httpGet probes to :15020/app-health, originals in ISTIO_KUBE_APP_PROBERS. */
import t from 'tap';
import { injectPod } from '../src/inject-pod.js';
import type { Container, Pod } from '../src/kube-types.js';

const ns = { name: 'default', labels: { 'istio-injection': 'enabled' } };

function pod(annotations: Record<string, string> = {}): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p', annotations },
    spec: {
      containers: [
        {
          name: 'app',
          ports: [{ name: 'web', containerPort: 8080 }, { name: 'tls', containerPort: 8443 }],
          livenessProbe: { httpGet: { path: '/live', port: 'web' }, initialDelaySeconds: 5, periodSeconds: 7, failureThreshold: 2 },
          readinessProbe: { httpGet: { path: '/ready', port: 'tls', scheme: 'HTTPS' }, timeoutSeconds: 4 },
          startupProbe: { httpGet: { path: '/start', port: 9000 } },
        },
        { name: 'tcp', readinessProbe: { tcpSocket: { port: 5432 } }, livenessProbe: { exec: { command: ['true'] } } },
      ],
    },
  };
}

function injected(p: Pod): { app: Container; tcp: Container; env: Record<string, string | undefined> } {
  const r = injectPod(p, ns);
  if (!r.injected) throw new Error('not injected');
  const all = [...(r.pod.spec!.initContainers ?? []), ...r.pod.spec!.containers];
  const proxy = all.find((c) => c.name === 'istio-proxy')!;
  return {
    app: all.find((c) => c.name === 'app')!,
    tcp: all.find((c) => c.name === 'tcp')!,
    env: Object.fromEntries((proxy.env ?? []).map((e) => [e.name, e.value])),
  };
}

t.test('httpGet probes point at :15020/app-health, other fields kept; originals in ISTIO_KUBE_APP_PROBERS with named ports resolved', async (t) => {
  const input = pod();
  const { app, tcp, env } = injected(input);
  t.same(app.livenessProbe, { httpGet: { path: '/app-health/app/livez', port: 15020 }, initialDelaySeconds: 5, periodSeconds: 7, failureThreshold: 2 });
  t.same(app.readinessProbe, { httpGet: { path: '/app-health/app/readyz', port: 15020 }, timeoutSeconds: 4 }, 'HTTPS: the kubelet speaks HTTP to the proxy');
  t.same(app.startupProbe, { httpGet: { path: '/app-health/app/startupz', port: 15020 } });
  t.same(tcp.readinessProbe, { tcpSocket: { port: 5432 } }, 'tcpSocket probe left as it is');
  t.same(tcp.livenessProbe, { exec: { command: ['true'] } }, 'exec probe left as it is');
  t.equal(
    env.ISTIO_KUBE_APP_PROBERS,
    '{"/app-health/app/livez":{"httpGet":{"path":"/live","port":8080}},' +
      '"/app-health/app/readyz":{"httpGet":{"path":"/ready","port":8443,"scheme":"HTTPS"},"timeoutSeconds":4},' +
      '"/app-health/app/startupz":{"httpGet":{"path":"/start","port":9000}}}',
    "Istio's JSON: keys sorted, named ports as numbers, scheme and timeout kept",
  );
  t.equal(input.spec!.containers[0].livenessProbe!.httpGet!.port, 'web', 'the input pod is not changed');
});

t.test('sidecar.istio.io/rewriteAppHTTPProbers: "false" opts out', async (t) => {
  const { app, env } = injected(pod({ 'sidecar.istio.io/rewriteAppHTTPProbers': 'false' }));
  t.same(app.livenessProbe?.httpGet, { path: '/live', port: 'web' });
  t.same(app.readinessProbe?.httpGet, { path: '/ready', port: 'tls', scheme: 'HTTPS' });
  t.equal(env.ISTIO_KUBE_APP_PROBERS, undefined, 'no prober table');
});

t.test('no httpGet probe: no ISTIO_KUBE_APP_PROBERS', async (t) => {
  const p = pod();
  p.spec!.containers = [p.spec!.containers[1]];
  t.equal(injected(p).env.ISTIO_KUBE_APP_PROBERS, undefined);
});
