/** The ingress and egress gateways (facts §2.6, §2.7): names, labels, ports, and the proxy's shape. */
import t from 'tap';
import { MINIMESH_IMAGE } from '@minimesh/mesh';
import { buildProxyContainer } from '@minimesh/injector/proxy-container';
import { DEFAULT_INJECT_OPTIONS } from '@minimesh/injector/inject-options';
import { profileValues, renderManifest, resolveInstallValues } from '../src/index.js';
import { find } from './helpers/render-all.js';

const component = (profile: 'default' | 'demo', name: string) => renderManifest(profileValues(profile)).find((c) => c.component === name)!.objects;

t.test('ingress gateway objects, default and demo', async (t) => {
  const names = (p: 'default' | 'demo') => component(p, 'IngressGateways').map((o) => `${o.kind}/${o.metadata.name}`);
  const base = ['PodDisruptionBudget/istio-ingressgateway', 'ServiceAccount/istio-ingressgateway-service-account', 'Role/istio-ingressgateway-sds', 'RoleBinding/istio-ingressgateway-sds', 'Service/istio-ingressgateway', 'Deployment/istio-ingressgateway'];
  t.same(names('demo'), base);
  t.same(names('default'), [...base, 'HorizontalPodAutoscaler/istio-ingressgateway']);
  const objs = component('default', 'IngressGateways');
  t.same(find(objs, 'Role', 'istio-ingressgateway-sds').rules, [{ apiGroups: [''], resources: ['secrets'], verbs: ['get', 'watch', 'list'] }]);
  t.same(find(objs, 'RoleBinding', 'istio-ingressgateway-sds').subjects, [{ kind: 'ServiceAccount', name: 'istio-ingressgateway-service-account', namespace: 'istio-system' }]);
  t.match(find(objs, 'HorizontalPodAutoscaler', 'istio-ingressgateway').spec, { minReplicas: 1, maxReplicas: 5 });
});

t.test('ingress Deployment: labels, selector, pod metadata, the router proxy', async (t) => {
  const d = find(component('default', 'IngressGateways'), 'Deployment', 'istio-ingressgateway');
  t.match(d.metadata.labels, { app: 'istio-ingressgateway', istio: 'ingressgateway', release: 'istio', 'istio.io/rev': 'default', 'operator.istio.io/component': 'IngressGateways', 'app.kubernetes.io/name': 'istio-ingressgateway' });
  t.same(d.spec.selector, { matchLabels: { app: 'istio-ingressgateway', istio: 'ingressgateway' } });
  t.equal(d.spec.replicas, undefined, 'the autoscaler sets replicas');
  const pod = d.spec.template;
  t.match(pod.metadata.labels, { app: 'istio-ingressgateway', istio: 'ingressgateway', 'sidecar.istio.io/inject': 'false', 'service.istio.io/canonical-name': 'istio-ingressgateway' });
  t.same(pod.metadata.annotations, { 'prometheus.io/port': '15020', 'prometheus.io/scrape': 'true', 'prometheus.io/path': '/stats/prometheus', 'sidecar.istio.io/inject': 'false' });
  t.same(pod.spec.securityContext, { runAsUser: 1337, runAsGroup: 1337, runAsNonRoot: true });
  t.equal(pod.spec.serviceAccountName, 'istio-ingressgateway-service-account');
  const [c] = pod.spec.containers;
  t.equal(c.name, 'istio-proxy');
  t.equal(c.image, MINIMESH_IMAGE);
  t.same(c.args, ['proxy', '--type', 'router', '--xds', 'istiod.istio-system.svc:15012', '--xds-ca', '/var/run/secrets/istio/root-cert.pem']);
  t.same(c.ports.map((p: any) => p.containerPort), [15021, 8080, 8443, 15090]);
  t.same(c.ports.at(-1), { containerPort: 15090, name: 'http-envoy-prom', protocol: 'TCP' });
  t.same(c.readinessProbe.httpGet, { path: '/healthz/ready', port: 15021 });
  const env = Object.fromEntries(c.env.map((e: any) => [e.name, e.value ?? e.valueFrom.fieldRef.fieldPath]));
  t.same(env, {
    POD_NAME: 'metadata.name',
    POD_NAMESPACE: 'metadata.namespace',
    INSTANCE_IP: 'status.podIP',
    SERVICE_ACCOUNT: 'spec.serviceAccountName',
    HOST_IP: 'status.hostIP',
    ISTIO_META_CLUSTER_ID: 'Kubernetes',
    ISTIO_META_NODE_NAME: 'spec.nodeName',
    ISTIO_META_WORKLOAD_NAME: 'istio-ingressgateway',
    ISTIO_META_OWNER: 'kubernetes://apis/apps/v1/namespaces/istio-system/deployments/istio-ingressgateway',
    ISTIO_META_MESH_ID: 'cluster.local',
  });
  t.same(pod.spec.volumes[0], { name: 'istiod-ca-cert', configMap: { name: 'istio-ca-root-cert' } });
  t.same(c.volumeMounts[0], { name: 'istiod-ca-cert', mountPath: '/var/run/secrets/istio', readOnly: true });
});

t.test('the gateway mounts and env what an injected sidecar gets', async (t) => {
  const pod = { metadata: { name: 'p', namespace: 'istio-system', labels: {} }, spec: { containers: [{ name: 'app', image: 'x' }] } };
  const sidecar = buildProxyContainer(pod as never, DEFAULT_INJECT_OPTIONS, { kind: 'Deployment', apiVersion: 'apps/v1', name: 'istio-ingressgateway' });
  const d = find(component('demo', 'IngressGateways'), 'Deployment', 'istio-ingressgateway');
  const c = d.spec.template.spec.containers[0];
  t.same(c.volumeMounts, sidecar.volumeMounts, 'the same mounts at the same paths (the root of istio-ca-root-cert included)');
  const sidecarVolumes = (sidecar.volumeMounts ?? []).map((m) => m.name).sort();
  t.same(d.spec.template.spec.volumes.map((v: any) => v.name).sort(), sidecarVolumes, 'the same volumes');
  const envOf = (e: any) => JSON.stringify(e.valueFrom?.fieldRef?.fieldPath ?? e.value);
  const sidecarEnv = new Map((sidecar.env ?? []).map((e) => [e.name, envOf(e)]));
  for (const e of c.env) if (sidecarEnv.has(e.name)) t.equal(envOf(e), sidecarEnv.get(e.name), `${e.name} as the injector sets it`);
  t.same(c.securityContext, { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, privileged: false, readOnlyRootFilesystem: true });
});

t.test('ingress Service: LoadBalancer with Istio\'s ports; demo adds tcp and tls; the type can be set', async (t) => {
  const ports = (s: any) => s.spec.ports.map((p: any) => `${p.name} ${p.port}->${p.targetPort}/${p.protocol}`);
  const def = find(component('default', 'IngressGateways'), 'Service', 'istio-ingressgateway');
  t.equal(def.spec.type, 'LoadBalancer');
  t.same(def.spec.selector, { app: 'istio-ingressgateway', istio: 'ingressgateway' });
  t.same(ports(def), ['status-port 15021->15021/TCP', 'http2 80->8080/TCP', 'https 443->8443/TCP']);
  const demo = component('demo', 'IngressGateways');
  t.same(ports(find(demo, 'Service', 'istio-ingressgateway')), ['status-port 15021->15021/TCP', 'http2 80->8080/TCP', 'https 443->8443/TCP', 'tcp 31400->31400/TCP', 'tls 15443->15443/TCP']);
  t.same(find(demo, 'Deployment', 'istio-ingressgateway').spec.template.spec.containers[0].ports.map((p: any) => p.containerPort), [15021, 8080, 8443, 31400, 15443, 15090]);
  t.equal(find(demo, 'Deployment', 'istio-ingressgateway').spec.replicas, 1);
  const np = renderManifest(resolveInstallValues({ sets: ['profile=demo', 'values.gateways.istio-ingressgateway.type=NodePort'], files: [] }));
  t.equal(find(np.find((c) => c.component === 'IngressGateways')!.objects, 'Service', 'istio-ingressgateway').spec.type, 'NodePort');
});

t.test('egress gateway (demo): its names and labels, a ClusterIP Service with http2 and https', async (t) => {
  const objs = component('demo', 'EgressGateways');
  t.same(objs.map((o) => `${o.kind}/${o.metadata.name}`), ['PodDisruptionBudget/istio-egressgateway', 'ServiceAccount/istio-egressgateway-service-account', 'Role/istio-egressgateway-sds', 'RoleBinding/istio-egressgateway-sds', 'Service/istio-egressgateway', 'Deployment/istio-egressgateway']);
  const s = find(objs, 'Service', 'istio-egressgateway');
  t.equal(s.spec.type, 'ClusterIP');
  t.same(s.spec.selector, { app: 'istio-egressgateway', istio: 'egressgateway' });
  t.same(s.spec.ports.map((p: any) => `${p.name} ${p.port}->${p.targetPort}`), ['http2 80->8080', 'https 443->8443']);
  const d = find(objs, 'Deployment', 'istio-egressgateway');
  t.match(d.metadata.labels, { app: 'istio-egressgateway', istio: 'egressgateway', 'operator.istio.io/component': 'EgressGateways' });
  t.same(d.spec.selector.matchLabels, { app: 'istio-egressgateway', istio: 'egressgateway' });
  const c = d.spec.template.spec.containers[0];
  t.same(c.args, ['proxy', '--type', 'router', '--xds', 'istiod.istio-system.svc:15012', '--xds-ca', '/var/run/secrets/istio/root-cert.pem']);
  t.equal(c.env.find((e: any) => e.name === 'ISTIO_META_WORKLOAD_NAME').value, 'istio-egressgateway');
  t.same(c.ports.map((p: any) => p.containerPort), [8080, 8443, 15090]);
  t.same(c.readinessProbe.httpGet, { path: '/healthz/ready', port: 15021 });
});
