/**
 * jwt_authn with remote key sets, end to end: the request (and its body, sent at once) waits
 * while the proxy fetches the keys, then goes upstream whole; a key set that cannot be fetched
 * (nothing listening, or slower than the rule's `timeout`) refuses tokens with Envoy's
 * "Jwks remote fetch is failed" while requests without a token still pass.
 */
import http from 'node:http';
import net from 'node:net';
import t from 'tap';
import { POD_IP, startSidecar, type Apps } from './helpers/authz-sidecar.js';
import { jwks, serveJwks, signingKey, startEchoApps, token } from './helpers/jwt-fixtures.js';

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
