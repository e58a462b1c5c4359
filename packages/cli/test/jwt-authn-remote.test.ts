/**
 * jwt_authn with remote key sets, end to end: the request (and its body, sent at once) waits
 * while the proxy fetches the keys, then goes upstream whole; a key set that cannot be fetched
 * (nothing listening, or slower than the rule's `timeout`) refuses tokens with Envoy's
 * "Jwks remote fetch is failed" while requests without a token still pass; a rule with only an
 * issuer gets its key set through the control plane's OpenID discovery.
 */
import http from 'node:http';
import net from 'node:net';
import t from 'tap';
import { POD_IP, startSidecar, type Apps } from './helpers/authz-sidecar.js';
import { jwks, serveJwks, signingKey, startEchoApps, token } from './helpers/jwt-fixtures.js';
import { OpenIdDiscovery } from '@minimesh/control-plane';

const ISS = 'remote@example';

const policy = (uri: string, timeout = '5s'): string => `apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: { name: remote, namespace: foo }
spec:
  jwtRules:
  - issuer: ${ISS}
    jwksUri: ${uri}
    timeout: ${timeout}
`;

/** A POST whose body goes out right after the head; resolves with status and body. */
function post(apps: Apps, path: string, headers: Record<string, string>, chunks: string[]): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: POD_IP, port: apps.httpPort, method: 'POST', path, headers: { host: 'httpbin.foo:8000', 'transfer-encoding': 'chunked', ...headers }, agent: false }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    for (const c of chunks) req.write(c);
    req.end();
  });
}

t.test('the request and its body wait for the key set, then go upstream whole', async (t) => {
  const key = await signingKey('ES256', 'k1');
  const server = await serveJwks(t, jwks(key), 300);
  const apps = await startEchoApps(t);
  const sc = await startSidecar(apps, policy(server.url));
  t.teardown(() => sc.close());
  const tok = await token(key, { iss: ISS, sub: 'u' });
  const started = Date.now();
  const r = await post(apps, '/upload', { authorization: `Bearer ${tok}` }, ['hello ', 'big ', 'world']);
  t.equal(r.status, 200);
  t.ok(Date.now() - started >= 250, 'the reply came after the key set arrived');
  t.equal(apps.requests[0].body, 'hello big world', 'the body arrived whole');
  const again = await post(apps, '/upload2', { authorization: `Bearer ${tok}` }, ['x']);
  t.equal(again.status, 200);
  t.equal(server.hits(), 1, 'cached: fetched once');
  const bad = await post(apps, '/upload3', { authorization: `Bearer ${tok.slice(0, -4)}AAAA` }, ['y']);
  t.equal(bad.status, 401);
  t.equal(bad.body, 'Jwt verification fails');
});

t.test('a key set that cannot be fetched refuses tokens, not requests without one', async (t) => {
  const key = await signingKey('RS256', 'k1');
  const closed = net.createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
  const port = (closed.address() as net.AddressInfo).port;
  await new Promise<void>((r) => closed.close(() => r()));
  const apps = await startEchoApps(t);
  const sc = await startSidecar(apps, policy(`http://127.0.0.1:${port}/jwks`));
  t.teardown(() => sc.close());
  const tok = await token(key, { iss: ISS, sub: 'u' });
  const r = await post(apps, '/x', { authorization: `Bearer ${tok}` }, ['z']);
  t.equal(r.status, 401, 'nothing listening: 401');
  t.equal(r.body, 'Jwks remote fetch is failed');
  const none = await post(apps, '/y', {}, ['z']);
  t.equal(none.status, 200, 'no token: passes');
});

t.test("a key set slower than the rule's timeout", async (t) => {
  const key = await signingKey('RS256', 'k1');
  const server = await serveJwks(t, jwks(key), 2000);
  const apps = await startEchoApps(t);
  const sc = await startSidecar(apps, policy(server.url, '200ms'));
  t.teardown(() => sc.close());
  const started = Date.now();
  const r = await post(apps, '/slow', { authorization: `Bearer ${await token(key, { iss: ISS, sub: 'u' })}` }, ['z']);
  t.equal(r.status, 401);
  t.equal(r.body, 'Jwks remote fetch is failed');
  t.ok(Date.now() - started < 1500, 'gave up at the timeout');
});

t.test('a rule with only an issuer: OpenID discovery finds the key set, the sidecar verifies with it', async (t) => {
  const key = await signingKey('RS256', 'idp-1');
  let keyHits = 0;
  // A local identity provider: the discovery document at the well-known path, the key set at its jwks_uri.
  const idp = http.createServer((req, res) => {
    const base = `http://127.0.0.1:${(idp.address() as net.AddressInfo).port}`;
    res.setHeader('content-type', 'application/json');
    if (req.url === '/realms/mesh/.well-known/openid-configuration') res.end(JSON.stringify({ issuer: `${base}/realms/mesh`, jwks_uri: `${base}/realms/mesh/certs` }));
    else if (req.url === '/realms/mesh/certs') {
      keyHits++;
      res.end(jwks(key));
    } else {
      res.statusCode = 404;
      res.end('{}');
    }
  });
  await new Promise<void>((r) => idp.listen(0, '127.0.0.1', r));
  t.teardown(() => {
    idp.closeAllConnections();
    idp.close();
  });
  const issuer = `http://127.0.0.1:${(idp.address() as net.AddressInfo).port}/realms/mesh`;
  const discovery = new OpenIdDiscovery({ timeoutMs: 2000 });
  t.teardown(() => discovery.stop());
  t.same(await discovery.resolve(issuer), { state: 'resolved', uri: `${issuer}/certs` });
  const apps = await startEchoApps(t);
  const sc = await startSidecar(apps, `apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: { name: oidc, namespace: foo }
spec:
  jwtRules:
  - issuer: ${issuer}
`, { jwksUriOf: (i) => discovery.lookup(i) });
  t.teardown(() => sc.close());
  t.same(sc.warnings, [], 'no warning: the issuer resolved');
  const good = await post(apps, '/ok', { authorization: `Bearer ${await token(key, { iss: issuer, sub: 'alice' })}` }, ['a']);
  t.equal(good.status, 200, 'a token signed by the provider: 200');
  const other = await signingKey('RS256', 'idp-1');
  const forged = await post(apps, '/forged', { authorization: `Bearer ${await token(other, { iss: issuer, sub: 'mallory' })}` }, ['b']);
  t.equal(forged.status, 401, 'a token signed by another key: 401');
  t.equal(forged.body, 'Jwt verification fails');
  t.equal(keyHits, 1, 'the sidecar fetched the discovered key set once');

  // The same rule while discovery has not answered: fail closed, with the warning.
  const apps2 = await startEchoApps(t);
  const pending = await startSidecar(apps2, `apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: { name: oidc, namespace: foo }
spec:
  jwtRules:
  - issuer: ${issuer}
`, { jwksUriOf: () => ({ state: 'pending' }) });
  t.teardown(() => pending.close());
  t.match(pending.warnings.join('\n'), /its jwks_uri is being looked up by OpenID discovery, its tokens are rejected until then/);
  const refused = await post(apps2, '/ok', { authorization: `Bearer ${await token(key, { iss: issuer, sub: 'alice' })}` }, ['a']);
  t.equal(refused.status, 401, 'pending: even a good token is refused');
});
