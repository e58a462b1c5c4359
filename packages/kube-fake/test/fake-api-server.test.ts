/**
 * The fake API server through @kubernetes/client-node, as installers and controllers use it:
 * create, read, replace, server-side apply, merge patch, delete, dry runs, CRDs adding kinds,
 * a namespace taking its objects along, and admission webhooks called over real HTTPS with
 * their caBundle.
 */
import t from 'tap';
import https from 'node:https';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { KubeConfig, KubernetesObjectApi, PatchStrategy, type KubernetesObject } from '@kubernetes/client-node';
import { FakeApiServer } from '../src/index.js';

async function connect(api: FakeApiServer): Promise<KubernetesObjectApi> {
  const kc = new KubeConfig();
  kc.loadFromString(api.kubeconfig());
  return KubernetesObjectApi.makeApiClient(kc);
}

const errorOf = async (p: Promise<unknown>): Promise<{ code: number; body: { message: string; reason: string } }> => {
  try {
    await p;
  } catch (e) {
    const err = e as { code: number; body: string };
    return { code: err.code, body: JSON.parse(err.body) };
  }
  throw new Error('expected a failure');
};

t.test('create, read, replace, apply, merge patch, delete', async (t) => {
  const api = new FakeApiServer();
  await api.start();
  t.teardown(() => api.stop());
  const k = await connect(api);
  const ns: KubernetesObject = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop', labels: { team: 'a' } } };
  await k.create(ns);
  const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg', namespace: 'shop' }, data: { a: '1' } };
  const created = (await k.create(cm)) as KubernetesObject;
  t.ok(created.metadata?.resourceVersion && created.metadata.uid, 'a created object has a resourceVersion and a uid');
  t.equal((await errorOf(k.create(cm))).code, 409, 'creating it again: 409 AlreadyExists');
  const missingNs = await errorOf(k.create({ ...cm, metadata: { name: 'x', namespace: 'nowhere' } }));
  t.same([missingNs.code, missingNs.body.message], [404, 'namespaces "nowhere" not found'], 'a namespace that does not exist: 404');

  const read = (await k.read({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg', namespace: 'shop' } })) as KubernetesObject & { data: Record<string, string> };
  t.same(read.data, { a: '1' });
  const stale = { ...read, metadata: { ...read.metadata, resourceVersion: '1' }, data: { a: '2' } };
  t.equal((await errorOf(k.replace(stale))).code, 409, 'a replace from a stale resourceVersion: 409 Conflict');
  const replaced = (await k.replace({ ...read, data: { a: '2' } })) as typeof read;
  t.same(replaced.data, { a: '2' }, 'replaced');

  // Server-side apply creates, then updates only the fields it names.
  const dep = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'shop', labels: { app: 'web' } }, spec: { replicas: 1, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'web:1' }] } } } };
  const applied = (await k.patch(dep, undefined, undefined, 'istio-operator', true, PatchStrategy.ServerSideApply)) as KubernetesObject & { spec: { replicas: number } };
  t.equal(applied.metadata?.generation, 1, 'applied: created at generation 1');
  const again = (await k.patch({ ...dep, spec: { ...dep.spec, replicas: 2 } }, undefined, undefined, 'istio-operator', true, PatchStrategy.ServerSideApply)) as typeof applied;
  t.same([again.spec.replicas, again.metadata?.generation], [2, 2], 're-applied with a change: generation 2');
  t.equal((await errorOf(k.patch(dep, undefined, undefined, undefined, true, PatchStrategy.ServerSideApply))).code, 400, 'apply without a field manager: 400');

  const merged = (await k.patch({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg', namespace: 'shop', labels: { x: 'y' } } }, undefined, undefined, undefined, undefined, PatchStrategy.MergePatch)) as unknown as typeof read;
  t.same([merged.metadata?.labels, merged.data], [{ x: 'y' }, { a: '2' }], 'a merge patch keeps what it does not name');

  // Dry run: answered, not stored.
  const dry = await k.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'dry', namespace: 'shop' } }, undefined, 'All');
  t.equal(dry.metadata?.name, 'dry');
  t.notOk(api.get('ConfigMap', 'shop', 'dry'), 'a dry-run create stores nothing');

  // Label selectors on lists.
  await k.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'labelled', namespace: 'shop', labels: { 'operator.istio.io/component': 'Pilot' } } });
  const listed = await k.list('v1', 'ConfigMap', undefined, undefined, undefined, undefined, undefined, 'operator.istio.io/component');
  t.same(listed.items.map((o) => o.metadata?.name), ['labelled'], 'labelSelector: only the labelled object');

  // Deleting a namespace deletes what is in it.
  await k.delete(ns);
  t.same(api.list('ConfigMap', 'shop'), [], 'the namespace took its ConfigMaps along');
  t.equal((await errorOf(k.read({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg', namespace: 'shop' } }))).code, 404, 'read after delete: 404');
});

t.test('a CRD adds its kinds; Deployments become ready when asked', async (t) => {
  const api = new FakeApiServer({ istioKinds: false, deploymentsReadyAfterMs: 50 });
  await api.start();
  t.teardown(() => api.stop());
  const k = await connect(api);
  const vs = { apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name: 'r', namespace: 'default' }, spec: { hosts: ['r'] } };
  await k.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' } });
  await t.rejects(k.create(vs), /the server could not find the requested resource \(\/apis\/networking.istio.io\/v1\)/, 'no CRD: the kind is unknown');
  const crd = {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: 'virtualservices.networking.istio.io' },
    spec: { group: 'networking.istio.io', scope: 'Namespaced', names: { kind: 'VirtualService', plural: 'virtualservices', shortNames: ['vs'] }, versions: ['v1', 'v1beta1'].map((name) => ({ name, served: true, storage: name === 'v1', subresources: { status: {} } })) },
  };
  const made = (await k.create(crd)) as unknown as KubernetesObject & { status: { conditions: { type: string; status: string }[] } };
  t.ok(made.status.conditions.some((c) => c.type === 'Established' && c.status === 'True'), 'the CRD is Established');
  const k2 = await connect(api); // a fresh client: discovery is cached per client
  await k2.create(vs);
  const asBeta = await k2.read({ ...vs, apiVersion: 'networking.istio.io/v1beta1' });
  t.equal(asBeta.apiVersion, 'networking.istio.io/v1beta1', 'one stored object, served at every version');
  await k2.delete(crd);
  const k3 = await connect(api);
  await t.rejects(k3.read(vs), /the server could not find the requested resource \(\/apis\/networking.istio.io\/v1\)/, 'deleting the CRD removes the kind');

  await k.create({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'default' }, spec: { replicas: 2 } });
  await new Promise((r) => setTimeout(r, 150));
  const d = api.get('Deployment', 'default', 'web') as { status?: { readyReplicas?: number; observedGeneration?: number } };
  t.same([d.status?.readyReplicas, d.status?.observedGeneration], [2, 1], 'the Deployment reports 2 ready replicas of generation 1');
});

/** A webhook server over HTTPS with a certificate for `hook.webhooks.svc`, signed by a CA made here. */
function certificates(): { ca: string; cert: string; key: string } {
  const dir = mkdtempSync(join(tmpdir(), 'kube-fake-'));
  const run = (args: string[]): void => void execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  run(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '1', '-subj', '/O=test-ca']);
  run(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'tls.key', '-out', 'tls.csr', '-subj', '/CN=hook.webhooks.svc']);
  const ext = join(dir, 'ext.cnf');
  execFileSync('sh', ['-c', `printf 'subjectAltName=DNS:hook.webhooks.svc\n' > ${ext}`]);
  run(['x509', '-req', '-in', 'tls.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'tls.crt', '-days', '1', '-extfile', ext]);
  const r = (f: string): string => readFileSync(join(dir, f), 'utf8');
  return { ca: r('ca.crt'), cert: r('tls.crt'), key: r('tls.key') };
}

t.test('admission: mutating and validating webhooks over HTTPS, verified with the caBundle', async (t) => {
  const pem = certificates();
  const seen: string[] = [];
  const hook = https.createServer({ cert: pem.cert, key: pem.key }, (req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const review = JSON.parse(body) as { request: { uid: string; object: { metadata: { name: string } } } };
      seen.push(req.url ?? '');
      const name = review.request.object.metadata.name;
      const response = req.url?.startsWith('/mutate')
        ? { uid: review.request.uid, allowed: true, patchType: 'JSONPatch', patch: Buffer.from(JSON.stringify([{ op: 'add', path: '/metadata/labels', value: { mutated: 'yes' } }])).toString('base64') }
        : name === 'bad'
          ? { uid: review.request.uid, allowed: false, status: { message: 'configuration is invalid: data.a: must be a number' } }
          : { uid: review.request.uid, allowed: true };
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response }));
    });
  });
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', () => r()));
  const hookPort = (hook.address() as AddressInfo).port;
  const api = new FakeApiServer({ resolveService: (ns, name, port) => (ns === 'webhooks' && name === 'hook' && port === 443 ? { host: '127.0.0.1', port: hookPort } : undefined) });
  await api.start();
  t.teardown(async () => {
    await api.stop();
    hook.close();
  });
  const k = await connect(api);
  await k.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'on', labels: { hooked: 'true' } } });
  await k.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'off' } });
  const rules = [{ operations: ['CREATE', 'UPDATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['configmaps'] }];
  const webhook = (name: string, path: string, caBundle?: string) => ({ name, clientConfig: { service: { name: 'hook', namespace: 'webhooks', path }, ...(caBundle ? { caBundle } : {}) }, rules, namespaceSelector: { matchLabels: { hooked: 'true' } }, sideEffects: 'None', admissionReviewVersions: ['v1'] });
  const caBundle = Buffer.from(pem.ca).toString('base64');
  await k.create({ apiVersion: 'admissionregistration.k8s.io/v1', kind: 'MutatingWebhookConfiguration', metadata: { name: 'm' }, webhooks: [webhook('m.test.io', '/mutate', caBundle)] });
  await k.create({ apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingWebhookConfiguration', metadata: { name: 'v' }, webhooks: [{ ...webhook('v.test.io', '/validate'), failurePolicy: 'Fail' }] });

  const cm = (name: string, ns: string) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: ns }, data: { a: '1' } });
  const noCa = await errorOf(k.create(cm('good', 'on')));
  t.equal(noCa.code, 500, 'the validating webhook has no caBundle: its certificate is not trusted, failurePolicy Fail refuses');
  t.match(noCa.body.message, /^Internal error occurred: failed calling webhook "v.test.io": .*(self-signed|unable to verify|issuer)/i);
  await k.patch({ apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingWebhookConfiguration', metadata: { name: 'v' }, webhooks: [{ ...webhook('v.test.io', '/validate', caBundle), failurePolicy: 'Fail' }] }, undefined, undefined, undefined, undefined, PatchStrategy.MergePatch);
  const good = (await k.create(cm('good', 'on'))) as KubernetesObject;
  t.same(good.metadata?.labels, { mutated: 'yes' }, 'the mutating webhook\'s JSONPatch is applied');
  const bad = await errorOf(k.create(cm('bad', 'on')));
  t.same([bad.code, bad.body.message], [400, 'admission webhook "v.test.io" denied the request: configuration is invalid: data.a: must be a number'], 'a denial is the API server\'s 400 with the webhook\'s message');
  const dryBad = await errorOf(k.create(cm('bad', 'on'), undefined, 'All'));
  t.equal(dryBad.code, 400, 'dry runs are admitted too');
  const before = seen.length;
  await k.create(cm('bad', 'off'));
  t.equal(seen.length, before, 'a namespace the selector does not match: no webhook called');
  t.ok(api.admissionCalls.some((c) => c.outcome === 'denied' && c.dryRun), 'admission calls are recorded');
});
