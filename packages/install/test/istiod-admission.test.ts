/**
 * The installed control plane plays istiod's part with the API server, end to end:
 * `minimesh install --set profile=demo` against the fake API server, then the control plane
 * started with exactly the command, args and env of the generated `istiod` Deployment (the
 * addresses moved to free loopback ports, since other tests run at once), with KUBECONFIG
 * pointing at the fake. The fake API server then does what the real one does in admission:
 * it calls the webhooks the generated configurations name (Service istiod.istio-system:443,
 * /inject and /validate) over HTTPS, verified with the caBundle the control plane patched in.
 */
import t from 'tap';

// Real processes against a real (fake) API server: slow on a loaded 2-core machine.
t.setTimeout(400_000);
import https from 'node:https';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KubeConfig, KubernetesObjectApi, type KubernetesObject } from '@kubernetes/client-node';
import { FakeApiServer, type Obj } from '@minimesh/kube-fake';
import { ISTIO_NAMESPACE, REVISION_TAG_WEBHOOK_CONFIG, DEFAULT_VALIDATOR_WEBHOOK_CONFIG, VALIDATOR_WEBHOOK_CONFIG, INJECTOR_WEBHOOK_CONFIG, MINIMESH_IMAGE } from '@minimesh/mesh';

const CLI = fileURLToPath(new URL('../../../cli/bin/minimesh.js', import.meta.url));

interface Container {
  name: string;
  image?: string;
  args?: string[];
  env?: { name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } }[];
}
interface Webhook {
  name: string;
  clientConfig: { caBundle?: string; service?: { name: string; namespace: string; path?: string; port?: number } };
  failurePolicy?: string;
}

async function until(what: string, cond: () => boolean | Promise<boolean>, ms = 30_000): Promise<void> {
  const start = Date.now();
  while (!(await cond())) {
    if (Date.now() - start > ms) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function runCli(args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (c) => (out += c));
    p.stderr.on('data', (c) => (out += c));
    p.on('close', (code) => resolve({ code: code ?? -1, out }));
  });
}

const errorOf = async (p: Promise<unknown>): Promise<{ code: number; message: string }> => {
  try {
    await p;
  } catch (e) {
    const err = e as { code: number; body: string };
    return { code: err.code, message: (JSON.parse(err.body) as { message: string }).message };
  }
  throw new Error('expected a failure');
};

t.test('install, then the control plane from its Deployment: caBundle patched, injection and validation through the API server', async (t) => {
  let webhookPort = 0;
  const api = new FakeApiServer({
    istioKinds: false,
    deploymentsReadyAfterMs: 100,
    resolveService: (ns, name, port) => (ns === ISTIO_NAMESPACE && name === 'istiod' && port === 443 && webhookPort ? { host: '127.0.0.1', port: webhookPort } : undefined),
  });
  await api.start();
  t.teardown(() => api.stop());
  const dir = mkdtempSync(join(tmpdir(), 'minimesh-istiod-'));
  const kubeconfig = join(dir, 'config');
  writeFileSync(kubeconfig, api.kubeconfig());

  const install = await runCli(['install', '--set', 'profile=demo', '-y', '--kubeconfig', kubeconfig]);
  t.equal(install.code, 0, 'installed');

  // The control plane exactly as the installed Deployment runs it.
  const deployment = api.get('Deployment', ISTIO_NAMESPACE, 'istiod') as Obj & { spec: { template: { spec: { containers: Container[] } } } };
  const c = deployment.spec.template.spec.containers[0];
  t.equal(c.image, MINIMESH_IMAGE, 'the image install names');
  const fieldValues: Record<string, string> = { 'metadata.name': 'istiod-5d7f9c-x2k8p', 'metadata.namespace': ISTIO_NAMESPACE };
  const env: Record<string, string> = {};
  for (const e of c.env ?? []) {
    const v = e.value ?? (e.valueFrom?.fieldRef ? fieldValues[e.valueFrom.fieldRef.fieldPath] : undefined);
    t.ok(v !== undefined, `env ${e.name} has a value in a pod`);
    env[e.name] = v ?? '';
  }
  const args = (c.args ?? []).map((a) => a.replace(/^0\.0\.0\.0:\d+$/, '127.0.0.1:0'));
  t.same(c.args!.filter((a) => !/^0\.0\.0\.0:\d+$/.test(a)), args.filter((a) => a !== '127.0.0.1:0'), 'only the listen addresses differ from the Deployment\'s args');
  const cp = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH ?? '', HOME: dir, KUBECONFIG: kubeconfig, ...env } });
  let log = '';
  cp.stdout.on('data', (d) => (log += d));
  cp.stderr.on('data', (d) => (log += d));
  t.teardown(() => void cp.kill('SIGKILL'));
  await until('the control plane is ready', () => /control plane ready:/.test(log));
  webhookPort = Number(/webhooks https:\/\/127\.0\.0\.1:(\d+)/.exec(log)![1]);

  // The caBundle patched into every injector and validator webhook, the validators closed.
  const webhooksOf = (kind: string, name: string): Webhook[] => ((api.get(kind, undefined, name) as unknown as { webhooks?: Webhook[] } | undefined)?.webhooks ?? []);
  await until('caBundle on the tag injector webhooks', () => webhooksOf('MutatingWebhookConfiguration', REVISION_TAG_WEBHOOK_CONFIG).every((w) => w.clientConfig.caBundle));
  await until('caBundle on the canonical injector webhooks', () => webhooksOf('MutatingWebhookConfiguration', INJECTOR_WEBHOOK_CONFIG).every((w) => w.clientConfig.caBundle));
  await until('validators flipped to Fail', () => [VALIDATOR_WEBHOOK_CONFIG, DEFAULT_VALIDATOR_WEBHOOK_CONFIG].every((n) => webhooksOf('ValidatingWebhookConfiguration', n).every((w) => w.clientConfig.caBundle && w.failurePolicy === 'Fail')));
  t.pass('every webhook configuration carries the caBundle; the validators fail closed');
  const tagHooks = webhooksOf('MutatingWebhookConfiguration', REVISION_TAG_WEBHOOK_CONFIG);
  const root = Buffer.from(tagHooks[0].clientConfig.caBundle!, 'base64').toString();

  // The root published where sidecars mount it.
  const kc = new KubeConfig();
  kc.loadFromString(api.kubeconfig());
  const k = KubernetesObjectApi.makeApiClient(kc);
  await k.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'client', labels: { 'istio-injection': 'enabled' } } });
  await k.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'plain' } });
  await until('the root ConfigMap in the new namespace', () => api.get('ConfigMap', 'client', 'istio-ca-root-cert') !== undefined);
  t.equal((api.get('ConfigMap', 'client', 'istio-ca-root-cert') as unknown as { data: Record<string, string> }).data['root-cert.pem'], root, 'istio-ca-root-cert holds the root the webhooks trust');

  // Play the API server's part by hand: POST an AdmissionReview to the URL the webhook names.
  const hook = tagHooks.find((w) => w.name === 'namespace.sidecar-injector.istio.io')!;
  const svc = hook.clientConfig.service!;
  t.same([svc.name, svc.namespace, svc.path, svc.port ?? 443], ['istiod', ISTIO_NAMESPACE, '/inject', 443], 'the webhook names istiod:443/inject');
  const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'echo', namespace: 'client', labels: { app: 'echo' } }, spec: { containers: [{ name: 'echo', image: 'hashicorp/http-echo', ports: [{ containerPort: 5678 }] }] } };
  const review = JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'u-1', kind: { group: '', version: 'v1', kind: 'Pod' }, resource: { group: '', version: 'v1', resource: 'pods' }, namespace: 'client', operation: 'CREATE', object: pod } });
  const answer = await new Promise<{ response: { uid: string; allowed: boolean; patch: string; patchType: string } }>((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port: webhookPort, path: svc.path, method: 'POST', servername: `${svc.name}.${svc.namespace}.svc`, ca: root, headers: { 'content-type': 'application/json' } }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve(JSON.parse(body)));
    });
    req.on('error', reject);
    req.end(review);
  });
  t.same([answer.response.uid, answer.response.allowed, answer.response.patchType], ['u-1', true, 'JSONPatch'], 'TLS verified with the caBundle; the review is allowed with a JSONPatch');
  const ops = JSON.parse(Buffer.from(answer.response.patch, 'base64').toString()) as { op: string; path: string; value: unknown }[];
  t.ok(ops.some((o) => JSON.stringify(o.value).includes('"name":"istio-proxy"')), 'the patch adds istio-proxy');

  // Through the API server: a pod in the labelled namespace gets its sidecar; others do not.
  const created = (await k.create(pod as KubernetesObject)) as unknown as { spec: { containers: Container[]; initContainers?: Container[] } };
  const names = [...(created.spec.initContainers ?? []), ...created.spec.containers].map((x) => x.name);
  t.ok(names.includes('istio-proxy') && names.includes('istio-init'), `injected by the API server's call: ${names.join(', ')}`);
  const proxy = [...(created.spec.initContainers ?? []), ...created.spec.containers].find((x) => x.name === 'istio-proxy')!;
  t.same([proxy.image, proxy.args], [MINIMESH_IMAGE, ['proxy', '--xds', 'istiod.istio-system.svc:15012', '--xds-ca', '/var/run/secrets/istio/root-cert.pem', '--concurrency', '2']], 'the sidecar reaches the control plane over TLS, with 2 workers as Istio\'s');
  const plain = (await k.create({ ...pod, metadata: { ...pod.metadata, namespace: 'plain' } } as KubernetesObject)) as unknown as { spec: { containers: Container[] } };
  t.same(plain.spec.containers.map((x) => x.name), ['echo'], 'an unlabelled namespace: no sidecar');
  const optOut = (await k.create({ ...pod, metadata: { ...pod.metadata, name: 'opt-out', annotations: { 'sidecar.istio.io/inject': 'false' }, labels: { app: 'echo', 'sidecar.istio.io/inject': 'false' } } } as KubernetesObject)) as unknown as { spec: { containers: Container[] } };
  t.same(optOut.spec.containers.map((x) => x.name), ['echo'], 'sidecar.istio.io/inject=false: no sidecar');

  // Validation: a bad VirtualService is refused naming the field; a good one goes through.
  const vs = (host: unknown) => ({ apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name: 'echo', namespace: 'client' }, spec: { hosts: ['echo-service'], http: [{ route: [{ destination: { host } }] }] } });
  const refused = await errorOf(k.create(vs(42) as KubernetesObject));
  t.match(refused.message, /^admission webhook "validation\.istio\.io" denied the request: configuration is invalid: spec\.http\[0\]\.route\[0\]\.destination\.host/, `refused: ${refused.message}`);
  await k.create(vs('echo-service') as KubernetesObject);
  t.ok(api.get('VirtualService', 'client', 'echo'), 'the good VirtualService is stored');

  const exit = new Promise<number | null>((r) => cp.once('exit', (code) => r(code)));
  cp.kill('SIGTERM');
  t.equal(await exit, 0, 'the control plane stops cleanly');
});
