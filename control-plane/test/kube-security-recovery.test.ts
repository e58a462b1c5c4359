/**
 * --kube mode when things are not in order, against the fake API server: a CA Secret that
 * exists is used (never replaced), another replica winning the race to create it, a broken
 * Secret (not ready until it is fixed), and a webhook the API server cannot reach yet (the
 * validators keep failing open until the dry run is really denied).
 */
import t from 'tap';
import http from 'node:http';
import type { Obj } from '@minimesh/kube-fake';
import { kubeApi, type KubeApi } from '../src/kube/kube-api.js';
import { caSecret, loadOrCreateCaSecret } from '../src/security/ca-secret.js';
import { createRootCa } from '../src/security/certificate-authority.js';
import { fakeKubeConfig, kubeStand, until, VALIDATORS } from './helpers/kube-fake-setup.js';
import { FakeApiServer } from '@minimesh/kube-fake';

type Hook = { clientConfig: { caBundle?: string }; failurePolicy?: string };
const hooks = (o: Obj | undefined): Hook[] => ((o as { webhooks?: Hook[] } | undefined)?.webhooks ?? []);

function ready(port: number): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: '/ready' }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    }).on('error', reject);
  });
}

t.test('an existing CA Secret is used as it is', async (t) => {
  const mine = await createRootCa();
  const s = await kubeStand((api) => api.write('ADDED', 'Secret', caSecret('istio-system', mine) as Obj));
  t.teardown(async () => {
    await s.cp.stop();
    await s.api.stop();
  });
  await s.started;
  t.equal(s.cp.security?.kubeSecurity?.ca.rootPem, mine.certPem, 'its root is the CA\'s');
  t.match(s.logs.join('\n'), /loaded the CA from Secret istio-system\/istio-ca-secret/);
  t.notOk(s.api.requests.some((r) => r.startsWith('POST /api/v1/namespaces/istio-system/secrets')), 'nothing created');
  t.ok(await until(() => (s.api.get('ConfigMap', 'default', 'istio-ca-root-cert') as { data?: Record<string, string> } | undefined)?.data?.['root-cert.pem'] === mine.certPem), 'published');
});

t.test('another replica creates the Secret first: theirs is read and used', async (t) => {
  const api = new FakeApiServer();
  await api.start();
  t.teardown(() => api.stop());
  api.write('ADDED', 'Namespace', { metadata: { name: 'istio-system' } });
  const real = await kubeApi(fakeKubeConfig(api));
  const theirs = await createRootCa();
  // Between our read (404) and our create, the other replica's Secret lands.
  const racing: KubeApi = {
    ...real,
    create: async (p, obj, o) => {
      api.write('ADDED', 'Secret', caSecret('istio-system', theirs) as Obj);
      return real.create(p, obj, o);
    },
  };
  const r = await loadOrCreateCaSecret(racing, 'istio-system', () => createRootCa());
  t.same(r, { ca: theirs, created: false }, 'the 409 leads to their CA');
  const again = await loadOrCreateCaSecret(real, 'istio-system', () => Promise.reject(new Error('must not create')));
  t.same(again, { ca: theirs, created: false });
});

t.test('a broken Secret: not ready (and saying why) until it is fixed', async (t) => {
  const good = await createRootCa();
  const broken = caSecret('istio-system', good) as Obj & { data: Record<string, string> };
  delete broken.data['ca-key.pem'];
  const s = await kubeStand((api) => api.write('ADDED', 'Secret', broken));
  t.teardown(async () => {
    await s.cp.stop();
    await s.api.stop();
  });
  t.ok(await until(() => s.cp.readyPort > 0));
  t.ok(await until(() => s.logs.some((l) => l.includes('Secret istio-system/istio-ca-secret: data.ca-key.pem is missing or empty; retrying with backoff'))), 'the log names the key');
  t.match(await ready(s.cp.readyPort), { status: 503, text: /not ready: waiting for the certificates/ });
  t.equal(s.cp.webhookPort, 0, 'no webhook server without a certificate');
  t.equal(s.logs.filter((l) => l.includes('data.ca-key.pem is missing')).length, 1, 'logged once, not at every retry');
  s.api.write('MODIFIED', 'Secret', caSecret('istio-system', good) as Obj);
  await s.started;
  t.match(await ready(s.cp.readyPort), { status: 200 });
  t.equal(s.cp.security?.kubeSecurity?.ca.rootPem, good.certPem);
});

t.test('validators stay failing open while the API server cannot reach the webhook', async (t) => {
  const s = await kubeStand((api) => {
    for (const v of VALIDATORS()) api.write('ADDED', 'ValidatingWebhookConfiguration', v);
  });
  s.reachable = false;
  t.teardown(async () => {
    await s.cp.stop();
    await s.api.stop();
  });
  await s.started;
  const vwc = () => s.api.get('ValidatingWebhookConfiguration', undefined, 'istio-validator-istio-system');
  t.ok(await until(() => hooks(vwc()).every((h) => h.clientConfig.caBundle !== undefined)), 'the caBundle is set');
  t.ok(await until(() => s.api.admissionCalls.filter((c) => c.name === 'invalid-gateway').length >= 3), 'the dry run is tried again');
  t.equal(hooks(vwc())[0].failurePolicy, 'Ignore', 'still Ignore: the webhook was never seen denying');
  t.match(s.api.admissionCalls.find((c) => c.name === 'invalid-gateway'), { outcome: 'error-ignored', dryRun: true });
  t.match(s.logs.join('\n'), /validation webhook not yet proven \(failurePolicy stays as is\): the API server accepted the invalid Gateway/);
  s.reachable = true;
  t.ok(await until(() => hooks(vwc())[0].failurePolicy === 'Fail'), 'Fail once the webhook answers');
});
