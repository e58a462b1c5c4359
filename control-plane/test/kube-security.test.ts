/**
 * --kube mode against the fake API server (@minimesh/kube-fake), which calls admission
 * webhooks over HTTPS verified with their caBundle: the CA Secret, the root ConfigMap in
 * every namespace (kept and repaired), the webhook configurations patched (caBundle, then
 * failurePolicy Fail once the dry run was denied), injection and validation through the API
 * server, readiness and the CA's metric.
 */
import t from 'tap';
import http from 'node:http';
import { X509Certificate } from 'node:crypto';
import type { Obj } from '@minimesh/kube-fake';
import { kubeRequestJson } from '../src/sources/kube-get.js';
import { injectorConfig, kubeStand, until, VALIDATORS } from './helpers/kube-fake-setup.js';

type Hook = { name: string; clientConfig: { caBundle?: string }; failurePolicy?: string };
const hooks = (o: Obj | undefined): Hook[] => ((o as { webhooks?: Hook[] } | undefined)?.webhooks ?? []);
const b64 = (s: string): string => Buffer.from(s).toString('base64');
const unb64 = (s: string): string => Buffer.from(s, 'base64').toString();

function get(port: number, p: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: p }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    }).on('error', reject);
  });
}

const vs = (name: string, host: unknown, labels?: Record<string, string>) => ({ apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name, namespace: 'default', labels }, spec: { hosts: [name], http: [{ route: [{ destination: { host } }] }] } });
const pod = (name: string, ns: string) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: ns, labels: { app: name } }, spec: { containers: [{ name: 'app', image: 'app:1' }] } });

t.test('istiod\'s security part against an API server', async (t) => {
  const other = { name: 'other.example.com', clientConfig: { url: 'https://example.com/x' }, rules: [], failurePolicy: 'Ignore', sideEffects: 'None', admissionReviewVersions: ['v1'] };
  const s = await kubeStand((api) => {
    api.write('ADDED', 'Namespace', { metadata: { name: 'shop', labels: { 'istio-injection': 'enabled' } } });
    api.write('ADDED', 'MutatingWebhookConfiguration', injectorConfig('istio-sidecar-injector', 'default', [other]));
    // Another revision's injector: it selects only its own namespaces (and no caBundle is ever put there).
    const canary = injectorConfig('istio-sidecar-injector-canary', 'canary') as Obj & { webhooks: { namespaceSelector: unknown }[] };
    for (const w of canary.webhooks) w.namespaceSelector = { matchLabels: { 'istio.io/rev': 'canary' } };
    api.write('ADDED', 'MutatingWebhookConfiguration', canary);
    for (const v of VALIDATORS()) api.write('ADDED', 'ValidatingWebhookConfiguration', v);
  });
  const { api, cp, kc } = s;
  t.teardown(async () => {
    await cp.stop();
    await api.stop();
  });
  await s.started;

  const secret = api.get('Secret', 'istio-system', 'istio-ca-secret') as (Obj & { type: string; data: Record<string, string> }) | undefined;
  t.ok(secret, 'Secret istio-ca-secret created');
  t.equal(secret!.type, 'istio.io/ca-root');
  t.same(Object.keys(secret!.data).sort(), ['ca-cert.pem', 'ca-key.pem', 'cert-chain.pem', 'key.pem', 'root-cert.pem']);
  t.equal(secret!.data['cert-chain.pem'], '');
  t.equal(secret!.data['key.pem'], '');
  const rootPem = unb64(secret!.data['ca-cert.pem']);
  t.equal(unb64(secret!.data['root-cert.pem']), rootPem);
  const root = new X509Certificate(rootPem);
  t.equal(root.subject, 'O=cluster.local');
  t.ok(root.ca);

  t.test('the root ConfigMap in every namespace, kept', async (t) => {
    const cm = (ns: string) => api.get('ConfigMap', ns, 'istio-ca-root-cert') as (Obj & { data?: Record<string, string> }) | undefined;
    t.ok(await until(() => ['istio-system', 'default', 'shop'].every((ns) => cm(ns)?.data?.['root-cert.pem'] === rootPem)), 'in each namespace');
    t.equal(cm('default')!.metadata.labels?.['istio.io/config'], 'true');
    api.write('ADDED', 'Namespace', { metadata: { name: 'late' } });
    t.ok(await until(() => cm('late')?.data?.['root-cert.pem'] === rootPem), 'a new namespace gets it');
    api.write('DELETED', 'ConfigMap', cm('shop')!);
    t.ok(await until(() => cm('shop')?.data?.['root-cert.pem'] === rootPem), 'a deleted one is created again');
    api.write('MODIFIED', 'ConfigMap', { ...cm('default')!, data: { 'root-cert.pem': 'tampered', extra: 'kept' } } as Obj);
    t.ok(await until(() => cm('default')?.data?.['root-cert.pem'] === rootPem), 'a changed one is repaired');
    t.equal(cm('default')!.data!.extra, 'kept', 'other keys stay');
    for (const ns of ['kube-system', 'kube-public']) api.write('ADDED', 'Namespace', { metadata: { name: ns } });
    t.ok(await until(() => cm('kube-system') !== undefined), 'kube-system gets it too');
    t.equal(cm('kube-public'), undefined, 'Kubernetes\' own kube-public does not');
    api.write('DELETED', 'Namespace', { metadata: { name: 'late' } });
    await new Promise((r) => setTimeout(r, 300));
    t.equal(cm('late'), undefined, 'nothing is written into a namespace that is gone');
  });

  t.test('the webhook configurations of the revision are patched', async (t) => {
    const mwc = () => api.get('MutatingWebhookConfiguration', undefined, 'istio-sidecar-injector');
    t.ok(await until(() => hooks(mwc()).filter((h) => h.clientConfig.caBundle === b64(rootPem)).length === 4), 'caBundle on the 4 injector webhooks');
    t.equal(hooks(mwc()).find((h) => h.name === 'other.example.com')?.clientConfig.caBundle, undefined, 'a webhook not named *sidecar-injector.istio.io is left alone');
    t.ok(hooks(api.get('MutatingWebhookConfiguration', undefined, 'istio-sidecar-injector-canary')).every((h) => h.clientConfig.caBundle === undefined), 'another revision\'s configuration is left alone');
    const vwc = (name: string) => api.get('ValidatingWebhookConfiguration', undefined, name);
    const closed = () => ['istio-validator-istio-system', 'istiod-default-validator'].every((n) => hooks(vwc(n)).every((h) => h.clientConfig.caBundle === b64(rootPem) && h.failurePolicy === 'Fail'));
    t.ok(await until(closed), 'validators: caBundle, then failurePolicy Fail');
    const dry = api.admissionCalls.find((c) => c.kind === 'Gateway' && c.name === 'invalid-gateway' && c.outcome === 'denied');
    t.match(dry, { dryRun: true, namespace: 'istio-system', configuration: 'istio-validator-istio-system', webhook: 'rev.validation.istio.io' }, 'after the dry run was denied by the revision\'s webhook');
    t.match(dry?.detail, /always rejected/);
    t.equal(api.get('Gateway', 'istio-system', 'invalid-gateway'), undefined, 'the dry run stored nothing');
    t.match(s.logs.join('\n'), /patched MutatingWebhookConfiguration istio-sidecar-injector: caBundle on 4 webhooks/);
    t.match(s.logs.join('\n'), /patched ValidatingWebhookConfiguration istiod-default-validator: failurePolicy Fail on 1 webhook/);

    // An apply that resets them (the manifests carry no caBundle and Ignore): patched again.
    api.write('MODIFIED', 'MutatingWebhookConfiguration', injectorConfig('istio-sidecar-injector'));
    api.write('MODIFIED', 'ValidatingWebhookConfiguration', VALIDATORS()[0]);
    t.ok(await until(() => hooks(mwc()).every((h) => h.clientConfig.caBundle === b64(rootPem)) && closed()), 're-patched after a reset');
    api.write('ADDED', 'MutatingWebhookConfiguration', injectorConfig('istio-revision-tag-default'));
    t.ok(await until(() => hooks(api.get('MutatingWebhookConfiguration', undefined, 'istio-revision-tag-default')).every((h) => h.clientConfig.caBundle === b64(rootPem))), 'a new one (the revision tag) too');
  });

  t.test('through the API server: validation denies naming the field, injection adds the sidecar', async (t) => {
    const path = '/apis/networking.istio.io/v1/namespaces/default/virtualservices';
    await t.rejects(
      kubeRequestJson(kc, 'POST', path, vs('bad', 7)),
      { message: /admission webhook "validation\.istio\.io" denied the request: configuration is invalid: spec\.http\[0\]\.route\[0\]\.destination\.host: must be a string$/ },
    );
    await t.rejects(kubeRequestJson(kc, 'POST', path, vs('bad-rev', 7, { 'istio.io/rev': 'default' })), { message: /admission webhook "rev\.validation\.istio\.io" denied the request: configuration is invalid/ });
    await kubeRequestJson(kc, 'POST', path, vs('good', 'reviews.default.svc.cluster.local'));
    t.ok(api.get('VirtualService', 'default', 'good'), 'a valid one is stored');
    await kubeRequestJson(kc, 'POST', '/api/v1/namespaces/shop/pods', pod('web', 'shop'));
    const injected = api.get('Pod', 'shop', 'web') as Obj & { spec: { initContainers?: { name: string; image: string }[] } };
    t.match(injected.spec.initContainers?.map((c) => c.name), ['istio-init', 'istio-proxy'], 'a pod in an istio-injection=enabled namespace gets the sidecar');
    t.equal(injected.spec.initContainers?.find((c) => c.name === 'istio-proxy')?.image, 'minimesh:0.1.0');
    await kubeRequestJson(kc, 'POST', '/api/v1/namespaces/default/pods', pod('plain', 'default'));
    t.equal((api.get('Pod', 'default', 'plain') as Obj & { spec: { initContainers?: unknown } }).spec.initContainers, undefined, 'a namespace not selected: no sidecar');
  });

  t.test('ready, the root\'s expiry and config events in /metrics', async (t) => {
    t.match(await get(cp.readyPort, '/ready'), { status: 200, text: 'ready\n' });
    const m = (await get(cp.debugPort, '/metrics')).text;
    t.match(m, new RegExp(`^citadel_server_root_cert_expiry_timestamp ${Math.floor(new Date(root.validTo).getTime() / 1000)}$`, 'm'));
    t.ok(await until(async () => /^pilot_k8s_cfg_events\{event="add",type="VirtualService"\} [1-9]/m.test((await get(cp.debugPort, '/metrics')).text)), 'the VirtualService created is counted');
    t.match((await get(cp.debugPort, '/metrics')).text, /^pilot_k8s_reg_events\{event="add",type="Pod"\} [1-9]/m);
  });
});
