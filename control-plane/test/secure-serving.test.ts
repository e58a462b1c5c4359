/**
 * The control plane's TLS ports over real sockets, with a serving certificate from --tls-dir
 * (folder mode): the webhooks (/inject, /validate) verified against the root, the secure xDS
 * port (a client trusting the root connects, others do not), /ready, /version and /metrics;
 * then a certificate change taken by both ports.
 */
import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import http from 'node:http';
import { X509Certificate } from 'node:crypto';
import { SnapshotCache, XdsClient, XdsServer } from '@minimesh/xds';
import { ControlPlane } from '../src/server/control-plane.js';
import { CertificateAuthority, createRootCa } from '../src/security/certificate-authority.js';
import { servingDnsNames } from '../src/security/kube-security.js';
import { ServingCertKeeper } from '../src/security/serving-cert.js';
import { SecureServing } from '../src/server/secure-serving.js';
import { review, tlsRequest } from './helpers/tls-request.js';

const DAY = 24 * 3600 * 1000;
const NODE = 'sidecar~10.0.0.9~web-1.default~default.svc.cluster.local';

async function until(cond: () => boolean, ms = 5000): Promise<boolean> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  return cond();
}

function get(port: number, p: string): Promise<{ status: number; text: string; type: string }> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: p }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text, type: String(res.headers['content-type']) }));
    }).on('error', reject);
  });
}

function xdsClient(t: { teardown(fn: () => unknown): void }, port: number, rootPem?: string): XdsClient {
  const c = new XdsClient({ server: `localhost:${port}`, node: { id: NODE, cluster: 'web.default' }, onConfig: () => {}, tls: rootPem ? { rootPem } : undefined, backoff: { initialMs: 50, maxMs: 200 } });
  c.start();
  t.teardown(() => c.close());
  return c;
}

const pod = (labels: Record<string, string> = {}) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web-1', namespace: 'default', labels: { app: 'web', ...labels } }, spec: { containers: [{ name: 'web', image: 'web:1', ports: [{ containerPort: 8080 }] }] } });
const vs = (host: unknown) => ({ apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name: 'reviews' }, spec: { hosts: ['reviews'], http: [{ route: [{ destination: { host } }] }] } });
const decodePatch = (body: unknown): { op: string; path: string; value?: unknown }[] => JSON.parse(Buffer.from((body as { response: { patch: string } }).response.patch, 'base64').toString());

t.test('folder mode with --tls-dir: webhooks, secure xDS, ready, version, metrics', async (t) => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mm-tls-'));
  t.teardown(() => fs.rmSync(tmp, { recursive: true, force: true }));
  const root = await createRootCa();
  const ca = await CertificateAuthority.load(root.certPem, root.keyPem);
  const stranger = await createRootCa();
  // `localhost` too, so that the xDS client (which checks the name of the host it dials) can be used.
  const serving = await ca.signServing({ dnsNames: [...servingDnsNames('istio-system'), 'localhost'] });
  const tlsDir = path.join(tmp, 'tls');
  fs.mkdirSync(tlsDir);
  fs.writeFileSync(path.join(tlsDir, 'tls.crt'), serving.certChainPem);
  fs.writeFileSync(path.join(tlsDir, 'tls.key'), serving.keyPem);
  const configDir = path.join(tmp, 'config');
  fs.mkdirSync(configDir);
  const any = { host: '127.0.0.1', port: 0 };
  const meshFile = path.join(tmp, 'mesh');
  fs.writeFileSync(meshFile, 'defaultConfig:\n  discoveryAddress: istiod.istio-system.svc:15012\n  concurrency: 3\n');
  const cp = new ControlPlane({
    meshConfigFile: meshFile,
    source: { kind: 'folder', dir: configDir },
    xdsAddress: any,
    debugAddress: any,
    secureXdsAddress: any,
    webhookAddress: any,
    readyAddress: any,
    dashboardAddress: 'off',
    tlsDir,
    proxyImage: 'minimesh:0.1.0',
    namespace: 'istio-system',
    debounce: { quietMs: 5, maxMs: 20 },
    print: () => {},
  });
  await cp.start();
  t.teardown(() => cp.stop());
  t.ok(cp.webhookPort > 0 && cp.secureXdsPort > 0 && cp.readyPort > 0, 'the TLS and ready ports listen');
  const hook = (p: string, body: unknown, o: Parameters<typeof tlsRequest>[2] = {}) => tlsRequest(cp.webhookPort, p, { ca: root.certPem, body, ...o });

  t.test('TLS: verified with the root for istiod\'s name; not without it', async (t) => {
    const r = await hook('/httpsReady', undefined, { method: 'GET' });
    t.equal(r.status, 200);
    t.equal(r.peer.subjectaltname, [...servingDnsNames('istio-system'), 'localhost'].map((n) => `DNS:${n}`).join(', '));
    await t.rejects(tlsRequest(cp.webhookPort, '/httpsReady', { method: 'GET' }), /self[- ]signed|unable to (get|verify)/i, 'a client without the root refuses the certificate');
    await t.rejects(tlsRequest(cp.webhookPort, '/httpsReady', { method: 'GET', ca: stranger.certPem }), /self[- ]signed|unable to (get|verify)/i, 'another root does not verify it');
    await t.rejects(hook('/httpsReady', undefined, { method: 'GET', servername: 'wrong.example' }), /altnames|does not match/i, 'another name does not match');
  });

  t.test('/inject: the sidecar for what the webhook selectors send, unless the pod opts out', async (t) => {
    for (const p of ['/inject', '/inject/']) {
      const r = await hook(p, review(pod()));
      t.equal(r.status, 200, p);
      const res = (r.json as { response: { uid: string; allowed: boolean; patchType: string } }).response;
      t.match(res, { uid: 'uid-1', allowed: true, patchType: 'JSONPatch' });
      const patch = JSON.stringify(decodePatch(r.json));
      t.match(patch, /"name":"istio-proxy"/, 'istio-proxy added');
      t.match(patch, /"image":"minimesh:0\.1\.0"/, '--proxy-image');
      t.match(patch, /"imagePullPolicy":"IfNotPresent"/);
      t.match(patch, /istiod\.istio-system\.svc:15012/, 'the secure xDS address of the control plane');
      t.match(patch, /"--concurrency","3"/, 'the mesh config\'s defaultConfig.concurrency');
    }
    const out = await hook('/inject', review(pod({ 'sidecar.istio.io/inject': 'false' })));
    t.same((out.json as { response: unknown }).response, { uid: 'uid-1', allowed: true }, 'a pod that opts out: allowed, unchanged');
  });

  t.test('/validate: Istio kinds checked; the always-reject Gateway refused', async (t) => {
    const good = await hook('/validate', review(vs('reviews.default.svc.cluster.local')));
    t.same((good.json as { response: unknown }).response, { uid: 'uid-1', allowed: true });
    for (const p of ['/validate', '/validate/']) {
      const bad = await hook(p, review(vs(7)));
      t.same((bad.json as { response: unknown }).response, { uid: 'uid-1', allowed: false, status: { message: 'configuration is invalid: spec.http[0].route[0].destination.host: must be a string' } }, `${p}: denied naming the field`);
    }
    const reject = { apiVersion: 'networking.istio.io/v1', kind: 'Gateway', metadata: { name: 'invalid-gateway', namespace: 'istio-system', annotations: { 'internal.istio.io/webhook-always-reject': 'true' } }, spec: { selector: { istio: 'ingressgateway' }, servers: [{ port: { number: 80, name: 'http', protocol: 'HTTP' }, hosts: ['*'] }] } };
    const r = await hook('/validate', review(reject, { kind: { group: 'networking.istio.io', version: 'v1', kind: 'Gateway' } }));
    const res = (r.json as { response: { allowed: boolean; status: { message: string } } }).response;
    t.equal(res.allowed, false, 'a valid Gateway with the always-reject annotation is denied');
    t.match(res.status.message, /^configuration is invalid: metadata\.annotations\.internal\.istio\.io\/webhook-always-reject/);
    t.notMatch(res.status.message, /denied the request/, 'the API server adds its own prefix, not us');
    const k8sGateway = { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'Gateway', metadata: { name: 'g' }, spec: {} };
    t.equal((await hook('/validate', review(k8sGateway))).json && ((await hook('/validate', review(k8sGateway))).json as { response: { allowed: boolean } }).response.allowed, true, 'another group is not ours to judge');
    const del = await hook('/validate', review(null, { operation: 'DELETE', oldObject: vs(7) }));
    t.equal((del.json as { response: { allowed: boolean } }).response.allowed, true, 'a DELETE is allowed');
  });

  t.test('bad requests get clear answers', async (t) => {
    t.match(await hook('/validate', 'not json', { contentType: 'application/json' }), { status: 400, json: { error: /body is not JSON/ } });
    t.match(await hook('/validate', { kind: 'Nope' }), { status: 400, json: { error: /kind must be "AdmissionReview"/ } });
    t.match(await hook('/validate', review(vs('x')), { contentType: 'text/plain' }), { status: 415 });
    t.match(await hook('/validate', undefined, { method: 'GET' }), { status: 405 });
    t.match(await hook('/elsewhere', review(vs('x'))), { status: 404 });
    t.match(await hook('/inject', { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'u' } }), { status: 400, json: { error: /request\.object must be the Pod/ } });
  });

  t.test('secure xDS: a client trusting the root connects; others do not', async (t) => {
    const wrong = xdsClient(t, cp.secureXdsPort, stranger.certPem);
    const plain = xdsClient(t, cp.secureXdsPort);
    await new Promise((r) => setTimeout(r, 1500));
    t.equal(cp.connectedProxies, 0, 'neither another root nor plain text gets through');
    await wrong.close();
    await plain.close();
    xdsClient(t, cp.secureXdsPort, root.certPem);
    t.ok(await until(() => cp.connectedProxies === 1), 'the client with the root is connected');
    t.ok(await until(() => cp.syncStatus().some((s) => s.nodeId === NODE)), 'and served (sync status)');
    t.match((await get(cp.debugPort, '/metrics')).text, /^pilot_xds\{version="0\.1\.0"\} 1$/m, 'pilot_xds counts it');
  });

  t.test('/ready, /version, /metrics', async (t) => {
    t.match(await get(cp.readyPort, '/ready'), { status: 200, text: 'ready\n' });
    t.match(await get(cp.readyPort, '/other'), { status: 404 });
    t.match(await get(cp.debugPort, '/version'), { status: 200, text: '0.1.0\n', type: /text\/plain/ });
    const m = await get(cp.debugPort, '/metrics');
    t.equal(m.status, 200);
    t.match(m.type, /text\/plain; version=0\.0\.4/);
    t.match(m.text, /^# HELP istio_build /m);
    t.match(m.text, /^istio_build\{component="pilot",tag="0\.1\.0"\} 1$/m);
    t.match(m.text, /^pilot_xds\{version="0\.1\.0"\} 0$/m, 'the proxy of the last test is gone');
    t.match(m.text, /^pilot_xds_pushes\{type="cds"\} [1-9]\d*$/m, 'pushes counted by type');
    t.match(m.text, /^pilot_xds_pushes\{type="lds"\} [1-9]\d*$/m);
    t.match(m.text, /^pilot_services 0$/m);
    t.notMatch(m.text, /citadel_server_root_cert_expiry_timestamp/, 'no CA of its own in folder mode');
  });
});

t.test('a new serving certificate: the webhook presents it at once, secure xDS is bound again with it', async (t) => {
  const root = await createRootCa();
  const ca = await CertificateAuthority.load(root.certPem, root.keyPem);
  const keeper = await ServingCertKeeper.create({ ca, dnsNames: [...servingDnsNames('istio-system'), 'localhost'], ttlMs: 30 * DAY });
  t.teardown(() => keeper.stop());
  const xds = new XdsServer({ cache: new SnapshotCache() });
  t.teardown(() => xds.close(100));
  const logs: string[] = [];
  const s = await SecureServing.start({ xds, serving: keeper, secureXdsAddress: { host: '127.0.0.1', port: 0 }, webhookAddress: { host: '127.0.0.1', port: 0 }, inject: {}, log: (l) => logs.push(l) });
  t.teardown(() => s.stop());
  const serial = async () => (await tlsRequest(s.webhookPort, '/httpsReady', { method: 'GET', ca: root.certPem })).peer.serialNumber;
  const before = await serial();
  t.equal(before, new X509Certificate(keeper.current.certChainPem).serialNumber);
  t.ok(await keeper.refresh(new Date(Date.now() + 25 * DAY)), 're-signed');
  t.equal(await serial(), new X509Certificate(keeper.current.certChainPem).serialNumber, 'the webhook serves the new certificate');
  t.not(await serial(), before);
  t.ok(await until(() => logs.some((l) => l.includes(`secure xDS on 127.0.0.1:${s.secureXdsPort} serves the new certificate`))), 'bound again');
  const connected: string[] = [];
  xds.on('connect', (st) => connected.push(st.nodeId));
  xdsClient(t, s.secureXdsPort, root.certPem);
  t.ok(await until(() => connected.length > 0, 8000), 'secure xDS serves on the same port after the rebind');
});
