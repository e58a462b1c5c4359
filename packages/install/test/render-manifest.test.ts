/** Components, names, labels and the control plane's objects, per profile (facts §1, §2, §2.2). */
import t from 'tap';
import YAML from 'yaml';
import { MINIMESH_IMAGE, MINIMESH_VERSION } from '@minimesh/mesh';
import { WATCHED_KINDS } from '@minimesh/control-plane/sources/kube-source';
import { parseMeshConfig } from '@minimesh/control-plane/model/mesh-config';
import { profileValues, renderManifest, resolveInstallValues } from '../src/index.js';
import { find, renderAllProfiles } from './helpers/render-all.js';

const CLUSTER_KINDS = new Set(['CustomResourceDefinition', 'ClusterRole', 'ClusterRoleBinding', 'MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration']);

t.test('each profile has its components, in Istio order, with their titles', async (t) => {
  const got = Object.fromEntries(renderAllProfiles().map((r) => [r.profile, r.components.map((c) => `${c.component}:${c.title}`)]));
  t.same(got, {
    default: ['Base:Istio core', 'Pilot:Istiod', 'IngressGateways:Ingress gateways'],
    demo: ['Base:Istio core', 'Pilot:Istiod', 'IngressGateways:Ingress gateways', 'EgressGateways:Egress gateways'],
    empty: [],
    minimal: ['Base:Istio core', 'Pilot:Istiod'],
  });
});

t.test('every object: operator labels, istio-system or cluster-scoped, no Namespace, no duplicates', async (t) => {
  for (const r of renderAllProfiles()) {
    const keys = new Set<string>();
    for (const c of r.components) {
      for (const o of c.objects) {
        const l = o.metadata.labels ?? {};
        t.same(
          [l['operator.istio.io/managed'], l['operator.istio.io/version'], l['istio.io/rev'], l['operator.istio.io/component']],
          ['Reconcile', MINIMESH_VERSION, 'default', c.component],
          `${r.profile}: ${o.kind} ${o.metadata.name} labels`,
        );
        t.equal(o.metadata.namespace, CLUSTER_KINDS.has(o.kind) ? undefined : 'istio-system', `${o.kind} ${o.metadata.name} namespace`);
        t.not(o.kind, 'Namespace');
        const key = `${o.kind}/${o.metadata.namespace}/${o.metadata.name}`;
        t.notOk(keys.has(key), `${key} once`);
        keys.add(key);
      }
    }
    if (r.components.length) t.equal(r.objects[0].kind, 'CustomResourceDefinition', `${r.profile}: CRDs first`);
  }
});

t.test('Pilot: the objects of facts §2.2, in Helm order; the autoscaler only without demo', async (t) => {
  const names = (p: 'default' | 'demo') => renderManifest(profileValues(p))[1].objects.map((o) => `${o.kind}/${o.metadata.name}`);
  const common = [
    'PodDisruptionBudget/istiod', 'ServiceAccount/istiod', 'ConfigMap/istio', 'ConfigMap/istio-sidecar-injector',
    'ClusterRole/istiod-clusterrole-istio-system', 'ClusterRoleBinding/istiod-clusterrole-istio-system', 'Role/istiod', 'RoleBinding/istiod',
    'Service/istiod', 'Deployment/istiod',
  ];
  const hooks = ['MutatingWebhookConfiguration/istio-sidecar-injector', 'ValidatingWebhookConfiguration/istio-validator-istio-system'];
  t.same(names('demo'), [...common, ...hooks]);
  t.same(names('default'), [...common, 'HorizontalPodAutoscaler/istiod', ...hooks]);
  t.same(renderManifest(profileValues('default'))[0].objects.filter((o) => o.kind !== 'CustomResourceDefinition').map((o) => `${o.kind}/${o.metadata.name}`), ['ServiceAccount/istio-reader-service-account']);
});

t.test('Deployment istiod runs the control plane with istiod\'s shape', async (t) => {
  const demo = renderManifest(profileValues('demo'))[1].objects;
  const d = find(demo, 'Deployment', 'istiod');
  t.match(d.metadata.labels, { app: 'istiod', istio: 'pilot', 'istio.io/rev': 'default', 'operator.istio.io/component': 'Pilot', release: 'istio', 'install.operator.istio.io/owning-resource': 'unknown' });
  t.same(d.spec.selector, { matchLabels: { istio: 'pilot' } });
  t.equal(d.spec.replicas, 1);
  const pod = d.spec.template;
  t.match(pod.metadata.labels, { app: 'istiod', istio: 'pilot', 'sidecar.istio.io/inject': 'false' });
  t.same(pod.metadata.annotations, { 'prometheus.io/port': '15014', 'prometheus.io/scrape': 'true', 'sidecar.istio.io/inject': 'false' });
  t.equal(pod.spec.serviceAccountName, 'istiod');
  const [c] = pod.spec.containers;
  t.equal(c.name, 'discovery');
  t.equal(c.image, MINIMESH_IMAGE);
  t.equal(c.imagePullPolicy, 'IfNotPresent');
  t.same(c.args, ['control-plane', '--kube', '--capture', '--xds-address', '0.0.0.0:15010', '--secure-xds-address', '0.0.0.0:15012', '--webhook-address', '0.0.0.0:15017', '--debug-address', '0.0.0.0:15014', '--ready-address', '0.0.0.0:8080', '--dashboard-address', '0.0.0.0:20001', '--proxy-image', MINIMESH_IMAGE]);
  t.same(c.ports.map((p: any) => `${p.containerPort}/${p.name}`), ['8080/http-debug', '15010/grpc-xds', '15012/tls-xds', '15017/https-webhooks', '15014/http-monitoring', '20001/http-dashboard']);
  t.same(c.readinessProbe.httpGet, { path: '/ready', port: 8080 });
  const env = Object.fromEntries(c.env.map((e: any) => [e.name, e.value ?? e.valueFrom.fieldRef.fieldPath]));
  t.same(env, { REVISION: 'default', PILOT_CERT_PROVIDER: 'istiod', POD_NAME: 'metadata.name', POD_NAMESPACE: 'metadata.namespace', PILOT_TRACE_SAMPLING: '100', CLUSTER_ID: 'Kubernetes' });
  t.match(c.securityContext, { runAsUser: 1337, runAsGroup: 1337, runAsNonRoot: true });
  t.same(c.resources, { requests: { cpu: '10m', memory: '100Mi' } });
  // ConfigMap istio at istiod's path: the control plane's --kube default reads /etc/istio/config/mesh.
  t.same(c.volumeMounts, [
    { name: 'config-volume', mountPath: '/etc/istio/config' },
    { name: 'istiod-tls', mountPath: '/var/run/secrets/istiod/tls', readOnly: true },
  ]);
  t.same(pod.spec.volumes, [
    { name: 'config-volume', configMap: { name: 'istio' } },
    { name: 'istiod-tls', secret: { secretName: 'istiod-tls', optional: true } },
  ]);
  t.notOk(c.args.includes('--mesh-config'), 'the default path applies');

  const def = renderManifest(profileValues('default'))[1].objects;
  const dd = find(def, 'Deployment', 'istiod');
  t.equal(dd.spec.replicas, undefined, 'with an autoscaler, no replicas');
  t.equal(dd.spec.template.spec.containers[0].env.find((e: any) => e.name === 'PILOT_TRACE_SAMPLING').value, '1');
  t.same(find(def, 'HorizontalPodAutoscaler', 'istiod').spec, {
    scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'istiod' },
    minReplicas: 1,
    maxReplicas: 5,
    metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } } }],
  });
  t.same(find(def, 'PodDisruptionBudget', 'istiod').spec, { minAvailable: 1, selector: { matchLabels: { app: 'istiod', istio: 'pilot' } } });
});

t.test('Service istiod: Istio\'s ports plus the dashboard', async (t) => {
  const s = find(renderManifest(profileValues('minimal'))[1].objects, 'Service', 'istiod');
  t.equal(s.spec.type, 'ClusterIP');
  t.same(s.spec.selector, { app: 'istiod', istio: 'pilot' });
  t.match(s.metadata.labels, { app: 'istiod', istio: 'pilot', 'istio.io/rev': 'default' });
  t.same(s.spec.ports.map((p: any) => `${p.name} ${p.port}->${p.targetPort}`), ['grpc-xds 15010->15010', 'https-dns 15012->15012', 'https-webhook 443->15017', 'http-monitoring 15014->15014', 'http-dashboard 20001->20001']);
});

t.test('RBAC: reads what the Kubernetes source watches, and only the writes it needs', async (t) => {
  const objs = renderManifest(profileValues('minimal'))[1].objects;
  const cr = find(objs, 'ClusterRole', 'istiod-clusterrole-istio-system');
  const grants = (group: string, resource: string) => new Set<string>(cr.rules.filter((r: any) => r.apiGroups.includes(group) && r.resources.includes(resource)).flatMap((r: any) => r.verbs));
  for (const k of WATCHED_KINDS) {
    const group = k.apiVersion.includes('/') ? k.apiVersion.split('/')[0] : '';
    const resource = k.path.split('/').pop()!;
    t.ok(['get', 'list', 'watch'].every((v) => grants(group, resource).has(v)), `get/list/watch ${group || 'core'} ${resource}`);
  }
  t.same([...grants('', 'configmaps')].sort(), ['create', 'get', 'list', 'patch', 'update', 'watch']);
  t.same([...grants('admissionregistration.k8s.io', 'mutatingwebhookconfigurations')].sort(), ['get', 'list', 'patch', 'update', 'watch']);
  t.same([...grants('admissionregistration.k8s.io', 'validatingwebhookconfigurations')].sort(), ['get', 'list', 'patch', 'update', 'watch']);
  t.same([...grants('networking.istio.io', 'gateways')].sort(), ['create', 'get', 'list', 'watch']);
  t.same([...grants('', 'secrets')].sort(), ['get', 'list', 'watch'], "Secrets cluster-wide: read only (a Gateway's credentialName, as Istio's istiod-clusterrole), never written");
  t.notOk(JSON.stringify(cr.rules).includes('"*"'), 'no wildcards');
  const crb = find(objs, 'ClusterRoleBinding', 'istiod-clusterrole-istio-system');
  t.same(crb.roleRef, { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'istiod-clusterrole-istio-system' });
  t.same(crb.subjects, [{ kind: 'ServiceAccount', name: 'istiod', namespace: 'istio-system' }]);
  t.same(find(objs, 'Role', 'istiod').rules, [{ apiGroups: [''], resources: ['secrets'], verbs: ['get', 'list', 'watch', 'create', 'update'] }]);
  t.same(find(objs, 'RoleBinding', 'istiod').subjects, [{ kind: 'ServiceAccount', name: 'istiod', namespace: 'istio-system' }]);
});

t.test('ConfigMaps istio and istio-sidecar-injector', async (t) => {
  const demo = find(renderManifest(profileValues('demo'))[1].objects, 'ConfigMap', 'istio');
  t.same(YAML.parse(demo.data.mesh), {
    accessLogFile: '/dev/stdout',
    defaultConfig: { discoveryAddress: 'istiod.istio-system.svc:15012' },
    defaultProviders: { metrics: ['prometheus'] },
    enablePrometheusMerge: true,
    rootNamespace: 'istio-system',
    trustDomain: 'cluster.local',
  });
  t.equal(demo.data.meshNetworks, 'networks: {}');
  t.notOk('accessLogFile' in YAML.parse(find(renderManifest(profileValues('default'))[1].objects, 'ConfigMap', 'istio').data.mesh), 'no access log by default');
  const v = resolveInstallValues({ sets: ['values.global.proxy.image=registry.local/minimesh:dev', 'meshConfig.accessLogFile=/dev/stderr'], files: [] });
  const objs = renderManifest(v)[1].objects;
  t.equal(YAML.parse(find(objs, 'ConfigMap', 'istio').data.mesh).accessLogFile, '/dev/stderr');
  // As the control plane reads it from /etc/istio/config/mesh: every key understood, nothing reported.
  for (const p of ['default', 'demo', 'minimal'] as const) {
    const parsed = parseMeshConfig(find(renderManifest(profileValues(p))[1].objects, 'ConfigMap', 'istio').data.mesh, '/etc/istio/config/mesh');
    t.same(parsed.warnings, [], `${p}: the control plane acts on or knows every key`);
    t.equal(parsed.config.accessLogFile, p === 'demo' ? '/dev/stdout' : '', `${p}: the access log`);
  }
  const inj = find(objs, 'ConfigMap', 'istio-sidecar-injector');
  const values = JSON.parse(inj.data.values);
  t.equal(values.global.proxy.image, 'registry.local/minimesh:dev');
  t.equal(values.revision, 'default');
  t.same(YAML.parse(inj.data.config), { alwaysInjectSelector: [], defaultTemplates: ['sidecar'], injectedAnnotations: {}, neverInjectSelector: [], policy: 'enabled' });
  const c = find(objs, 'Deployment', 'istiod').spec.template.spec.containers[0];
  t.equal(c.image, 'registry.local/minimesh:dev');
  t.equal(c.args[c.args.indexOf('--proxy-image') + 1], 'registry.local/minimesh:dev');
});
