/** `minimesh kube-inject`: goldens on Istio's inputs (read in place) and on a labs-style file. */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { MINIMESH_IMAGE } from '@minimesh/mesh';
import { kubeInject } from '../src/kube-inject/kube-inject.js';
import { injectOptionsFromFlags } from '../src/inject-flags.js';
import type { Container, PodSpec } from '../src/kube-types.js';
import { golden, INJECTOR_ROOT, staleGoldens } from './helpers/golden.js';
import { istioInjectSkip, readIstio } from './helpers/istio-testdata.js';

const ISTIO_INPUTS = ['hello.yaml', 'cronjob.yaml', 'daemonset.yaml', 'job.yaml', 'list.yaml', 'replicaset.yaml', 'statefulset.yaml', 'hello-host-network.yaml', 'native-sidecar-opt-out.yaml', 'multi-container.yaml'];
const LOCAL = join(INJECTOR_ROOT, 'test', 'fixtures', 'kube-inject');
const LOCAL_INPUTS = ['labs-customer.yaml'];

t.test("kube-inject goldens on Istio's inputs", { skip: istioInjectSkip(t) }, async (t) => {
  for (const input of ISTIO_INPUTS) {
    const r = kubeInject(readIstio(input));
    const g = golden('kube-inject', `${input}.injected`, `${r.notes.map((n) => `# ${n}\n`).join('')}${r.yaml}`);
    t.equal(g.actual, g.expected, `${input} (${g.file})`);
  }
});

t.test('kube-inject goldens on local inputs', async (t) => {
  for (const input of LOCAL_INPUTS) {
    const r = kubeInject(readFileSync(join(LOCAL, input), 'utf8'));
    const g = golden('kube-inject', `${input}.injected`, `${r.notes.map((n) => `# ${n}\n`).join('')}${r.yaml}`);
    t.equal(g.actual, g.expected, `${input} (${g.file})`);
  }
  const names = [...ISTIO_INPUTS, ...LOCAL_INPUTS].map((i) => `${i}.injected`);
  t.same(staleGoldens('kube-inject', names), [], 'no stale goldens');
});

t.test('kube-inject on the labs shape', async (t) => {
  const r = kubeInject(readFileSync(join(LOCAL, 'labs-customer.yaml'), 'utf8'));
  t.same(r.notes, ['Deployment default/customer: injected', 'Service default/customer: not a workload'].slice(0, 1));
  t.match(r.yaml, /name: istio-init/);
  t.match(r.yaml, /name: istio-proxy/);
  t.match(r.yaml, /kind: Service/, 'other documents pass through');
  t.throws(() => kubeInject('a: [b'), /invalid YAML/);
});

/** The pod spec of the first document of kube-inject's output (a Deployment). */
const podSpecOf = (yaml: string): PodSpec => (parse(yaml.split(/^---$/m)[0]) as { spec: { template: { spec: PodSpec } } }).spec.template.spec;

t.test('the injected YAML: minimesh:<version> (IfNotPresent), xDS over TLS on 15012, the root ConfigMap mounted', async (t) => {
  const spec = podSpecOf(kubeInject(readFileSync(join(LOCAL, 'labs-customer.yaml'), 'utf8')).yaml);
  const [init, proxy] = spec.initContainers as [Container, Container];
  t.same([init.name, proxy.name], ['istio-init', 'istio-proxy']);
  t.match(MINIMESH_IMAGE, /^minimesh:\d+\.\d+\.\d+$/, 'minimesh:<version>');
  for (const c of [init, proxy]) {
    t.equal(c.image, MINIMESH_IMAGE, `${c.name}: the image built into the cluster`);
    t.equal(c.imagePullPolicy, 'IfNotPresent', `${c.name}: never pulled from a registry`);
  }
  t.same(proxy.args, ['proxy', '--xds', 'istiod.istio-system.svc:15012', '--xds-ca', '/var/run/secrets/istio/root-cert.pem', '--concurrency', '2']);
  t.same(proxy.volumeMounts?.[0], { mountPath: '/var/run/secrets/istio', name: 'istiod-ca-cert', readOnly: true }, 'the root mounted read-only where Istio mounts it');
  t.same(spec.volumes?.find((v) => v.name === 'istiod-ca-cert'), { name: 'istiod-ca-cert', configMap: { name: 'istio-ca-root-cert' } });
});

t.test('--image and --image-pull-policy', async (t) => {
  const o = injectOptionsFromFlags({ image: 'registry.example/minimesh:9', 'image-pull-policy': 'Always' });
  const spec = podSpecOf(kubeInject(readFileSync(join(LOCAL, 'labs-customer.yaml'), 'utf8'), o).yaml);
  for (const c of spec.initContainers!) t.same([c.image, c.imagePullPolicy], ['registry.example/minimesh:9', 'Always'], c.name);
  t.throws(() => injectOptionsFromFlags({ 'image-pull-policy': 'sometimes' }), /--image-pull-policy: Always, IfNotPresent, Never; got "sometimes"/);
});

t.test('YAML 1.1 values survive (Kubernetes reads YAML 1.1)', async (t) => {
  const input = `apiVersion: v1
kind: Pod
metadata:
  name: yaml11
  labels:
    feature: "on"
    enabled: "yes"
spec:
  containers:
  - name: app
    image: app
    env:
    - name: FLAG
      value: "y"
  volumes:
  - name: cfg
    configMap:
      name: cfg
      defaultMode: 0644
`;
  const r = kubeInject(input);
  t.match(r.yaml, /defaultMode: (0644|420)\n/, 'octal mode kept (0644 = 420), not 644');
  t.notMatch(r.yaml, /defaultMode: 644\n/);
  t.match(r.yaml, /feature: "on"\n/, '"on" stays a string');
  t.match(r.yaml, /enabled: "yes"\n/, '"yes" stays a string');
  t.match(r.yaml, /value: "y"\n/, '"y" stays a string');
  t.match(r.yaml, /name: istio-proxy/);
});

t.test('a workload with capture annotations the init program would refuse is an error naming it', async (t) => {
  const yaml = `apiVersion: apps/v1
kind: Deployment
metadata: { name: web, namespace: shop }
spec:
  selector: { matchLabels: { app: web } }
  template:
    metadata:
      labels: { app: web }
      annotations: { traffic.sidecar.istio.io/excludeOutboundPorts: "abc" }
    spec: { containers: [{ name: web, image: web }] }
`;
  t.throws(() => kubeInject(yaml), /Deployment shop\/web: annotation traffic\.sidecar\.istio\.io\/excludeOutboundPorts: not a port: "abc"/);
});
