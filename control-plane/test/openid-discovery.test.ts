/**
 * OpenID discovery for RequestAuthentication rules with only an `issuer`: the control plane reads
 * `<issuer>/.well-known/openid-configuration` from a real local HTTP server and uses its
 * `jwks_uri` (remote_jwks); the answer is cached; a 404, a document without `jwks_uri`, or a
 * server that never answers (bounded by the timeout) give a clear warning and an empty key set
 * (fail closed); a later success is pushed to the connected proxies.
 */
import t from 'tap';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { ProxySyncStatus } from '@minimesh/xds';
import { ControlPlane } from '../src/server/control-plane.js';
import { OpenIdDiscovery, discoveryUrl } from '../src/security/openid-discovery.js';
import { buildMeshModel, generateForProxy, loadManifests, proxyIdentity } from '../src/index.js';
import type { JsonObject } from '../src/generate/envoy-json.js';

/** A local identity provider: `/good` has a discovery document, `/bare` one without jwks_uri, `/slow` never answers. */
async function provider(t: { teardown(fn: () => unknown): void }): Promise<{ base: string; hits: Map<string, number>; state: { good: boolean } }> {
  const hits = new Map<string, number>();
  const state = { good: true };
  const server = http.createServer((req, res) => {
    const url = req.url ?? '';
    hits.set(url, (hits.get(url) ?? 0) + 1);
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    if (url === '/good/.well-known/openid-configuration' && state.good) {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ issuer: `${base}/good`, jwks_uri: `${base}/good/keys.json`, id_token_signing_alg_values_supported: ['RS256'] }));
    } else if (url === '/bare/.well-known/openid-configuration') {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ issuer: `${base}/bare` }));
    } else if (url === '/slow/.well-known/openid-configuration') {
      // never answers
    } else {
      res.statusCode = 404;
      res.end('not found');
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise((r) => server.close(r)).then(() => undefined, () => undefined));
  t.teardown(() => server.closeAllConnections());
  return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hits, state };
}

async function until(cond: () => boolean, ms = 8000): Promise<boolean> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  return cond();
}

t.test('discoveryUrl: the well-known suffix; a non-URL issuer is refused clearly', async (t) => {
  t.equal(discoveryUrl('https://accounts.example.com'), 'https://accounts.example.com/.well-known/openid-configuration');
  t.equal(discoveryUrl('https://idp.example/realms/x/'), 'https://idp.example/realms/x/.well-known/openid-configuration', 'a trailing slash is not doubled');
  t.throws(() => discoveryUrl('testing@secure.istio.io'), new Error('issuer "testing@secure.istio.io" is not a URL'));
  t.throws(() => discoveryUrl('ftp://idp.example'), new Error('issuer "ftp://idp.example" is not an http or https URL'));
});

t.test('resolve, cache, failures with reasons, bounded timeout, retry after the delay', async (t) => {
  const idp = await provider(t);
  let now = 1_000_000;
  const settled: string[] = [];
  const d = new OpenIdDiscovery({ timeoutMs: 300, retryMs: 60_000, now: () => now, onSettled: (issuer, r) => settled.push(`${issuer} ${r.state}`) });
  t.teardown(() => d.stop());

  t.same(d.lookup(`${idp.base}/good`), { state: 'pending' }, 'first lookup: pending, a request starts');
  t.same(await d.resolve(`${idp.base}/good`), { state: 'resolved', uri: `${idp.base}/good/keys.json` });
  t.same(d.lookup(`${idp.base}/good`), { state: 'resolved', uri: `${idp.base}/good/keys.json` }, 'answered from the cache');
  t.ok((idp.hits.get('/good/.well-known/openid-configuration') ?? 0) <= 2, 'no request per lookup');
  const before = idp.hits.get('/good/.well-known/openid-configuration');
  for (let i = 0; i < 5; i++) d.lookup(`${idp.base}/good`);
  t.equal(idp.hits.get('/good/.well-known/openid-configuration'), before, 'cached: five lookups, no request');

  t.same(await d.resolve(`${idp.base}/missing`), { state: 'failed', error: `GET ${idp.base}/missing/.well-known/openid-configuration: HTTP 404` });
  t.same(await d.resolve(`${idp.base}/bare`), { state: 'failed', error: `GET ${idp.base}/bare/.well-known/openid-configuration: no http(s) jwks_uri in the OpenID configuration (got undefined)` });
  const started = Date.now();
  t.same(await d.resolve(`${idp.base}/slow`), { state: 'failed', error: `GET ${idp.base}/slow/.well-known/openid-configuration: no answer within 300 ms` });
  t.ok(Date.now() - started < 3000, `a silent server costs the timeout only (${Date.now() - started} ms)`);
  const closed = http.createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
  const port = (closed.address() as AddressInfo).port;
  await new Promise((r) => closed.close(r));
  t.same(await d.resolve(`http://127.0.0.1:${port}`), { state: 'failed', error: `GET http://127.0.0.1:${port}/.well-known/openid-configuration: ECONNREFUSED` }, 'nothing listening');

  // A failure is kept until the retry delay, then asked again.
  const misses = idp.hits.get('/missing/.well-known/openid-configuration');
  t.equal(d.lookup(`${idp.base}/missing`).state, 'failed');
  t.equal(idp.hits.get('/missing/.well-known/openid-configuration'), misses, 'within the retry delay: no new request');
  now += 61_000;
  t.equal(d.lookup(`${idp.base}/missing`).state, 'failed', 'after it: still failed while asking again');
  await new Promise((r) => setTimeout(r, 200));
  t.equal(idp.hits.get('/missing/.well-known/openid-configuration'), (misses ?? 0) + 1, 'asked again');
  t.ok(settled.includes(`${idp.base}/good resolved`) && settled.includes(`${idp.base}/missing failed`), 'onSettled after background requests');
});

t.test('a failure is asked again after the retry delay while a rule still names the issuer', async (t) => {
  const idp = await provider(t);
  idp.state.good = false;
  const settled: string[] = [];
  const d = new OpenIdDiscovery({ timeoutMs: 1000, retryMs: 150, onSettled: (_i, r) => settled.push(r.state) });
  t.teardown(() => d.stop());
  const path = '/good/.well-known/openid-configuration';
  t.equal(d.lookup(`${idp.base}/good`).state, 'pending');
  t.ok(await until(() => settled.length === 1), 'the first request settles');
  t.same(settled, ['failed']);
  // The push that follows looks the issuer up again: it is still in use, so the retry happens.
  t.equal(d.lookup(`${idp.base}/good`).state, 'failed');
  idp.state.good = true;
  t.ok(await until(() => settled.length === 2), 'asked again after the delay, with no new lookup needed');
  t.same(settled, ['failed', 'resolved'], 'and resolved: onSettled makes the control plane push');
  t.same(d.lookup(`${idp.base}/good`), { state: 'resolved', uri: `${idp.base}/good/keys.json` });

  // An issuer nobody looks up any more is left alone.
  const gone = new OpenIdDiscovery({ timeoutMs: 1000, retryMs: 100 });
  t.teardown(() => gone.stop());
  t.equal((await gone.resolve(`${idp.base}/missing`)).state, 'failed');
  const hits = idp.hits.get('/missing/.well-known/openid-configuration');
  await new Promise((r) => setTimeout(r, 400));
  t.equal(idp.hits.get('/missing/.well-known/openid-configuration'), hits, 'no retry for an issuer no rule names');
  t.ok(idp.hits.get(path));
});

const WORKLOAD = `apiVersion: v1
kind: Service
metadata: { name: httpbin, namespace: foo }
spec: { selector: { app: httpbin }, ports: [{ name: http, port: 8000, targetPort: 8080 }] }
---
apiVersion: v1
kind: Pod
metadata: { name: httpbin-1, namespace: foo, labels: { app: httpbin } }
spec: { containers: [{ name: c, image: i, ports: [{ containerPort: 8080 }] }] }
status: { podIP: 10.8.0.2, phase: Running }
---
`;
const ra = (issuer: string): string => `apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: { name: oidc, namespace: foo }
spec: { jwtRules: [{ issuer: "${issuer}", timeout: 3s }] }
`;
const NODE = 'sidecar~10.8.0.2~httpbin-1.foo~foo.svc.cluster.local';

type Providers = Record<string, { local_jwks?: unknown; remote_jwks?: { http_uri: { uri: string; cluster: string; timeout: string } } }>;
function providersOf(listeners: readonly JsonObject[]): Providers | undefined {
  const l = listeners.find((x) => x.name === '10.8.0.2_8080') as { filter_chains: { filters: { typed_config: { http_filters?: { name: string; typed_config: { providers: Providers } }[] } }[] }[] } | undefined;
  return l?.filter_chains[0].filters[0].typed_config.http_filters?.find((f) => f.name === 'envoy.filters.http.jwt_authn')?.typed_config.providers;
}

t.test('translation: the discovered jwks_uri becomes remote_jwks; pending or failed: no keys and a warning', async (t) => {
  const model = buildMeshModel(loadManifests(WORKLOAD + ra('https://idp.example'), 'in.yaml').resources.map((r) => r.resource));
  const gen = (lookup: Parameters<typeof generateForProxy>[2]) => generateForProxy(model, proxyIdentity(NODE, {}, model), lookup);
  const ok = gen({ jwksUriOf: () => ({ state: 'resolved', uri: 'https://keys.idp.example:8443/jwks' }) });
  t.same(providersOf(ok.listeners)?.['origins-0'].remote_jwks?.http_uri, { uri: 'https://keys.idp.example:8443/jwks', cluster: 'outbound|8443||keys.idp.example', timeout: '3s' });
  t.notOk(ok.warnings.some((w) => w.includes('idp.example')), 'no warning once resolved');
  const pending = gen({ jwksUriOf: () => ({ state: 'pending' }) });
  t.same(providersOf(pending.listeners)?.['origins-0'].local_jwks, { inline_string: '{"keys":[]}' }, 'pending: no keys (fail closed)');
  t.ok(pending.warnings.includes('RequestAuthentication foo/oidc: issuer "https://idp.example" has neither jwks nor jwksUri; its jwks_uri is being looked up by OpenID discovery, its tokens are rejected until then'));
  const failed = gen({ jwksUriOf: () => ({ state: 'failed', error: 'GET https://idp.example/.well-known/openid-configuration: HTTP 503' }) });
  t.same(providersOf(failed.listeners)?.['origins-0'].local_jwks, { inline_string: '{"keys":[]}' });
  t.ok(failed.warnings.includes('RequestAuthentication foo/oidc: issuer "https://idp.example" has neither jwks nor jwksUri and OpenID discovery failed (GET https://idp.example/.well-known/openid-configuration: HTTP 503); its tokens are all rejected'));
});


t.test('the control plane discovers in the background, warns, and pushes when the provider answers', async (t) => {
  const idp = await provider(t);
  idp.state.good = false; // the provider is down at first
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'mm-oidc-'));
  t.teardown(() => fs.rmSync(folder, { recursive: true, force: true }));
  fs.writeFileSync(path.join(folder, 'app.yaml'), WORKLOAD + ra(`${idp.base}/good`));
  const lines: string[] = [];
  const cp = new ControlPlane({ source: { kind: 'folder', dir: folder }, xdsAddress: { host: '127.0.0.1', port: 0 }, debugAddress: { host: '127.0.0.1', port: 0 }, dashboardAddress: 'off', debounce: { quietMs: 5, maxMs: 20 }, print: (l) => lines.push(l) });
  await cp.start();
  t.teardown(() => cp.stop());
  cp.xds.emit('connect', { nodeId: NODE, cluster: 'httpbin.foo', metadata: { LABELS: { app: 'httpbin' } } } as unknown as ProxySyncStatus);
  const jwks = () => providersOf(cp.generatedFor(NODE)?.resources.listeners ?? [])?.['origins-0'];
  t.same(jwks()?.local_jwks, { inline_string: '{"keys":[]}' }, 'at first: pending, no keys');
  t.ok(await until(() => lines.some((l) => l.includes('OpenID discovery failed'))), 'the failure is reported');
  t.ok(
    lines.some((l) => l.includes(`issuer "${idp.base}/good" has neither jwks nor jwksUri and OpenID discovery failed (GET ${idp.base}/good/.well-known/openid-configuration: HTTP 404); its tokens are all rejected`)),
    'with the issuer, the URL and the reason',
  );
  t.same(jwks()?.local_jwks, { inline_string: '{"keys":[]}' }, 'failed: still no keys (fail closed)');

  // The provider comes back; a config change (or the retry delay) asks again and the push follows.
  idp.state.good = true;
  fs.writeFileSync(path.join(folder, 'app.yaml'), WORKLOAD + ra(`${idp.base}/good/`));
  cp.rescan();
  t.ok(await until(() => jwks()?.remote_jwks !== undefined), 'pushed: remote_jwks');
  t.equal(jwks()?.remote_jwks?.http_uri.uri, `${idp.base}/good/keys.json`, 'the jwks_uri of the discovery document');
});
