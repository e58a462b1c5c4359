/**
 * The webhook: golden responses (patch decoded) for AdmissionReviews shaped as the API server
 * sends them, the skip rules, malformed reviews, and the HTTPS server.
 */
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import fastJsonPatch from 'fast-json-patch';
import { MINIMESH_IMAGE } from '@minimesh/mesh';
import { handleAdmissionReview } from '../src/webhook/admission-review.js';
import { createInjectorServer } from '../src/webhook/injector-server.js';
import { injectPod } from '../src/inject-pod.js';
import type { Pod } from '../src/kube-types.js';
import { golden, INJECTOR_ROOT, staleGoldens } from './helpers/golden.js';

const FIXTURES = join(INJECTOR_ROOT, 'test', 'fixtures', 'admission');
const fixtures = readdirSync(FIXTURES).filter((f) => f.endsWith('.json')).sort();
const load = (f: string): { request: { object: Pod; uid: string; namespace: string } } => JSON.parse(readFileSync(join(FIXTURES, f), 'utf8'));

interface Response {
  response: { uid: string; allowed: boolean; patchType?: string; patch?: string };
}

t.test('webhook goldens', async (t) => {
  for (const f of fixtures) {
    const r = await handleAdmissionReview(load(f));
    t.equal(r.status, 200, `${f}: 200`);
    const res = (r.body as Response).response;
    const shown = { ...res, patch: res.patch ? JSON.parse(Buffer.from(res.patch, 'base64').toString()) : undefined };
    const g = golden('webhook', f, `${JSON.stringify(shown, null, 2)}\n`);
    t.equal(g.actual, g.expected, `${f} (${g.file}; REFRESH_GOLDEN=1 to rewrite)`);
  }
  t.same(staleGoldens('webhook', fixtures), [], 'no stale goldens');
});

t.test('the patch applied to the request object gives injectPod()', async (t) => {
  for (const f of fixtures) {
    const review = load(f);
    const res = ((await handleAdmissionReview(review)).body as Response).response;
    t.equal(res.uid, review.request.uid, `${f}: uid echoed`);
    t.equal(res.allowed, true);
    const expected = injectPod(review.request.object, { name: review.request.namespace }).pod;
    if (!res.patch) {
      t.same(expected, review.request.object, `${f}: no patch when nothing changes`);
      continue;
    }
    t.equal(res.patchType, 'JSONPatch');
    const ops = JSON.parse(Buffer.from(res.patch, 'base64').toString());
    const patched = fastJsonPatch.applyPatch(structuredClone(review.request.object), ops, true, false).newDocument;
    t.same(patched, expected, `${f}: patch reproduces the injected pod`);
  }
});

t.test('skip rules', async (t) => {
  const pod = (): Pod => structuredClone(load('deployment-pod.json').request.object);
  const enabled = { name: 'default', labels: { 'istio-injection': 'enabled' } };
  t.equal(injectPod(pod(), enabled).injected, true, 'istio-injection=enabled namespace: injected');
  t.equal(injectPod(pod(), { name: 'x', labels: { 'minimesh-injection': 'enabled' } }).injected, true, 'minimesh-injection=enabled: injected');
  const skip = (p: Pod, ns: { name: string; labels?: Record<string, string> } = enabled): string | undefined => {
    const r = injectPod(p, ns);
    return r.injected ? undefined : r.skip.reason;
  };
  t.equal(skip(pod(), { name: 'plain', labels: {} }), 'namespace not enabled', 'unlabelled namespace: skipped');
  t.equal(skip(pod(), { name: 'off', labels: { 'istio-injection': 'disabled' } }), 'namespace not enabled', 'istio-injection=disabled: skipped');
  for (const ns of ['kube-system', 'kube-public', 'kube-node-lease']) t.equal(skip(pod(), { name: ns, labels: { 'istio-injection': 'enabled' } }), 'system namespace', `${ns}: skipped`);
  const hn = pod();
  hn.spec!.hostNetwork = true;
  t.equal(skip(hn), 'hostNetwork', 'hostNetwork: skipped');
  const ann = pod();
  ann.metadata!.annotations = { 'sidecar.istio.io/inject': 'false' };
  t.equal(skip(ann), 'pod opted out', 'annotation inject=false: skipped');
  const lab = pod();
  lab.metadata!.labels!['sidecar.istio.io/inject'] = 'false';
  lab.metadata!.annotations = { 'sidecar.istio.io/inject': 'true' };
  t.equal(skip(lab), 'pod opted out', 'label false wins over annotation true');
  const lab2 = pod();
  lab2.metadata!.labels!['sidecar.istio.io/inject'] = 'true';
  lab2.metadata!.annotations = { 'sidecar.istio.io/inject': 'false' };
  t.equal(skip(lab2), undefined, 'label true wins over annotation false');
  const bogus = pod();
  bogus.metadata!.annotations = { 'sidecar.istio.io/inject': 'no' };
  t.equal(skip(bogus), undefined, 'only "true"/"false" count');
  const once = injectPod(pod(), enabled);
  const twice = injectPod(once.pod, enabled);
  t.equal(twice.injected, false, 'already injected: skipped');
  t.equal(twice.pod, once.pod, 'already injected: unchanged');
  const orig = pod();
  const copy = structuredClone(orig);
  injectPod(orig, enabled);
  t.same(orig, copy, 'injectPod never changes its input');
});

t.test('injected pod', async (t) => {
  const p = injectPod(load('deployment-pod.json').request.object, { name: 'default' }).pod;
  const init = p.spec!.initContainers!;
  t.same(init.map((c) => c.name), ['istio-init', 'istio-proxy'], 'native sidecar by default');
  t.equal(init[1].restartPolicy, 'Always');
  t.same(init[0].args, ['iptables', '-p', '15001', '-z', '15006', '-u', '1337', '-m', 'REDIRECT', '-i', '*', '-x', '', '-b', '*', '-d', '15090,15021,15020']);
  t.same(init[1].args, ['proxy', '--xds', 'istiod.istio-system.svc:15012', '--xds-ca', '/var/run/secrets/istio/root-cert.pem', '--concurrency', '2'], 'xDS over TLS, trusting the mounted root; 2 workers as Istio runs its sidecars');
  for (const c of init) t.same([c.image, c.imagePullPolicy], [MINIMESH_IMAGE, 'IfNotPresent'], `${c.name}: the image built into the cluster, never pulled`);
  t.same(init[1].volumeMounts?.find((m) => m.name === 'istiod-ca-cert'), { mountPath: '/var/run/secrets/istio', name: 'istiod-ca-cert', readOnly: true }, 'the root mounted read-only');
  t.same(p.spec!.volumes!.find((v) => v.name === 'istiod-ca-cert'), { name: 'istiod-ca-cert', configMap: { name: 'istio-ca-root-cert' } }, "the namespace's root ConfigMap");
  t.match(p.metadata!.annotations!['sidecar.istio.io/status'], /"volumes":\["istio-envoy","istio-podinfo","istio-token","istiod-ca-cert"\]/, 'listed in the status annotation');
  t.same(p.spec!.volumes!.find((v) => v.name === 'istio-token'), { name: 'istio-token', projected: { sources: [{ serviceAccountToken: { audience: 'istio-ca', expirationSeconds: 43200, path: 'istio-token' } }] } }, "Istio's projected token for the CA");
  t.same(init[1].volumeMounts?.find((m) => m.name === 'istio-token'), { mountPath: '/var/run/secrets/tokens', name: 'istio-token' }, 'mounted where the proxy looks for it');
  // A plain-text control plane (an --xds on another port): no root flag, no ConfigMap to wait for.
  const plain = injectPod(load('deployment-pod.json').request.object, { name: 'default' }, { xdsAddress: 'cp.example:15010' }).pod;
  const plainProxy = plain.spec!.initContainers![1];
  t.same(plainProxy.args, ['proxy', '--xds', 'cp.example:15010', '--concurrency', '2'], 'plain text: no --xds-ca');
  t.notOk(plain.spec!.volumes!.some((v) => v.name === 'istiod-ca-cert') || plainProxy.volumeMounts?.some((m) => m.name === 'istiod-ca-cert'), 'plain text: no root volume or mount');
  t.same((init[1].env ?? []).slice(0, 5).map((e) => e.name), ['POD_NAME', 'POD_NAMESPACE', 'INSTANCE_IP', 'SERVICE_ACCOUNT', 'HOST_IP']);
  t.equal(p.metadata!.labels!['service.istio.io/canonical-name'], 'customer', 'canonical name from app');
  t.equal(p.metadata!.labels!['service.istio.io/canonical-revision'], 'v1', 'canonical revision from version');
  const hold = injectPod(load('deployment-pod.json').request.object, { name: 'default' }, { mode: 'hold' }).pod;
  t.same(hold.spec!.containers.map((c) => c.name), ['istio-proxy', 'customer'], 'fallback: proxy first');
  t.match(hold.spec!.containers[0].lifecycle, { postStart: { exec: { command: ['minimesh', 'wait-ready'] } } });
  t.equal(hold.metadata!.annotations!['kubectl.kubernetes.io/default-container'], 'customer', 'fallback: default container is the app');
  const noName = load('deployment-pod.json').request.object;
  delete noName.metadata!.labels!.app;
  t.equal(injectPod(noName, { name: 'default' }).pod.metadata!.labels!['service.istio.io/canonical-name'], 'customer-v1', 'canonical name from the Deployment (ReplicaSet hash stripped)');
});

t.test('malformed reviews get 400 with a message', async (t) => {
  const good = load('deployment-pod.json');
  const bad: [string, unknown, RegExp][] = [
    ['not an object', 'hello', /JSON object/],
    ['null', null, /JSON object/],
    ['wrong kind', { ...good, kind: 'Pod' }, /kind must be "AdmissionReview"/],
    ['v1beta1', { ...good, apiVersion: 'admission.k8s.io/v1beta1' }, /admission.k8s.io\/v1/],
    ['no request', { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' }, /request is missing/],
    ['no uid', { ...good, request: { ...good.request, uid: undefined } }, /uid/],
    ['no object', { ...good, request: { ...good.request, object: undefined } }, /object must be the Pod/],
    ['not a pod', { ...good, request: { ...good.request, kind: { group: 'apps', version: 'v1', kind: 'Deployment' } } }, /core\/v1 Pod/],
    ['containers not a list', { ...good, request: { ...good.request, object: { spec: { containers: 'x' } } } }, /containers must be a list/],
    ['container without name', { ...good, request: { ...good.request, object: { spec: { containers: [{ image: 'x' }] } } } }, /with names/],
    ['labels not strings', { ...good, request: { ...good.request, object: { metadata: { labels: { a: 1 } }, spec: { containers: [] } } } }, /labels must map strings/],
  ];
  for (const [what, body, msg] of bad) {
    const r = await handleAdmissionReview(body);
    t.equal(r.status, 400, `${what}: 400`);
    t.match((r.body as { error: string }).error, msg, `${what}: says why`);
  }
});

t.test('HTTPS server', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mm-webhook-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=minimesh-injector', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
  } catch {
    // CI installs openssl (.ci/run): there a missing tool is a failure, not a skip.
    if (process.env.CI === 'true') t.fail('openssl is not installed: cannot make a test certificate');
    else t.comment('openssl is not installed: cannot make a test certificate; skipping');
    return;
  }
  const lines: string[] = [];
  const server = createInjectorServer({ cert: readFileSync(join(dir, 'cert.pem')), key: readFileSync(join(dir, 'key.pem')), log: (l) => lines.push(l) });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => server.close());
  const port = (server.address() as AddressInfo).port;
  const post = (body: string, type = 'application/json', path = '/inject'): Promise<{ status: number; body: string }> =>
    new Promise((resolve, reject) => {
      const req = https.request({ host: '127.0.0.1', port, path, method: 'POST', rejectUnauthorized: false, headers: { 'content-type': type } }, (res) => {
        let s = '';
        res.on('data', (c) => (s += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: s }));
      });
      req.on('error', reject);
      req.end(body);
    });
  const ok = await post(readFileSync(join(FIXTURES, 'deployment-pod.json'), 'utf8'));
  t.equal(ok.status, 200);
  t.match(JSON.parse(ok.body), { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { allowed: true, patchType: 'JSONPatch' } });
  t.equal((await post('{}', 'text/plain')).status, 415, 'other content types: 415');
  t.equal((await post('{}', 'application/json; charset=utf-8')).status, 400, 'charset is fine; an empty object is a 400');
  const notJson = await post('{"kind": ', 'application/json');
  t.equal(notJson.status, 400);
  t.match(notJson.body, /not JSON/);
  t.equal((await post('{}', 'application/json', '/other')).status, 404);
  t.equal((await post(readFileSync(join(FIXTURES, 'deployment-pod.json'), 'utf8'))).status, 200, 'still serving after bad input');
  t.match(lines.join('\n'), /default\/customer-v1-6d8f9b7c4-\*: injected/);
});

t.test('capture annotations the init program would refuse: the pod is rejected, naming the annotation', async (t) => {
  const bad: [string, string, RegExp][] = [
    ['traffic.sidecar.istio.io/excludeOutboundPorts', 'abc', /traffic\.sidecar\.istio\.io\/excludeOutboundPorts: not a port: "abc"/],
    ['traffic.sidecar.istio.io/includeOutboundIPRanges', '10.0.0.0/33', /traffic\.sidecar\.istio\.io\/includeOutboundIPRanges: not a CIDR: "10\.0\.0\.0\/33"/],
    ['traffic.sidecar.istio.io/excludeInboundPorts', '70000', /traffic\.sidecar\.istio\.io\/excludeInboundPorts/],
  ];
  for (const [key, value, message] of bad) {
    const review = load('deployment-pod.json');
    review.request.object.metadata!.annotations = { ...(review.request.object.metadata!.annotations ?? {}), [key]: value };
    const res = ((await handleAdmissionReview(review)).body as { response: { uid: string; allowed: boolean; status?: { code: number; message: string }; patch?: string } }).response;
    t.equal(res.allowed, false, `${key}=${value}: rejected`);
    t.equal(res.uid, review.request.uid);
    t.equal(res.status?.code, 400);
    t.match(res.status?.message ?? '', message, `${key}: the message names it`);
    t.equal(res.patch, undefined, 'no patch');
  }
  const fine = load('deployment-pod.json');
  fine.request.object.metadata!.annotations = { ...(fine.request.object.metadata!.annotations ?? {}), 'traffic.sidecar.istio.io/excludeOutboundPorts': '3306, 6379' };
  t.equal(((await handleAdmissionReview(fine)).body as Response).response.allowed, true, 'valid annotations are injected');
});
