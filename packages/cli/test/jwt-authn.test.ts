/**
 * RequestAuthentication end to end (control plane translation, real proxy, real sockets): an
 * RS256 issuer with an inline key set and an ES256 issuer whose key set the proxy fetches
 * over HTTP. A request without a token passes; a bad signature, an unknown issuer or an
 * expired token get 401 with Envoy's text, a wrong audience 403 (Envoy's code for it), a gRPC
 * caller grpc-status 16. Tokens are read from `Authorization: Bearer`, a custom header with its
 * prefix, and a query parameter; a verified token is removed and its payload goes upstream in
 * `outputPayloadToHeader`. With AuthorizationPolicies, RBAC sees the verified claims:
 * `requestPrincipals: ["*"]` denies a request without a token, `iss/sub` and
 * `request.auth.claims[groups]` pick the tokens allowed.
 */
import t from 'tap';
import { send, startSidecar } from './helpers/authz-sidecar.js';
import { jwks, serveJwks, signingKey, startEchoApps, token } from './helpers/jwt-fixtures.js';

const RS_ISS = 'https://rs.example.com';
const ES_ISS = 'es@secure.example';

async function setup(t: { teardown(fn: () => void | Promise<void>): void }, extra = '') {
  const rs = await signingKey('RS256', 'rs-1');
  const es = await signingKey('ES256', 'es-1');
  const other = await signingKey('RS256', 'rs-1');
  const server = await serveJwks(t, jwks(es));
  const apps = await startEchoApps(t);
  const policy = `apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: { name: jwt, namespace: foo }
spec:
  selector: { matchLabels: { app: httpbin } }
  jwtRules:
  - issuer: ${RS_ISS}
    audiences: [svc-a, svc-b]
    jwks: '${jwks(rs)}'
    outputPayloadToHeader: x-jwt-payload
    outputClaimToHeaders: [{ header: x-jwt-sub, claim: sub }]
  - issuer: ${ES_ISS}
    jwksUri: ${server.url}
    fromHeaders: [{ name: x-token, prefix: "Tok " }]
    fromParams: [token]
---
${extra}`;
  const sc = await startSidecar(apps, policy);
  t.teardown(() => sc.close());
  return { rs, es, other, server, apps, sc };
}

t.test('tokens verified by jwt_authn: missing passes, invalid ones are refused', async (t) => {
  const { rs, es, other, server, apps, sc } = await setup(t);
  const bearer = (tok: string): Record<string, string> => ({ authorization: `Bearer ${tok}` });

  const none = await send(apps, { path: '/none' });
  t.equal(none.status, 200, 'no token: passes');

  const good = await token(rs, { iss: RS_ISS, sub: 'alice', aud: 'svc-a' });
  apps.requests.length = 0;
  const ok = await send(apps, { path: '/rs', headers: bearer(good) });
  t.equal(ok.status, 200, 'a valid RS256 token passes');
  const seen = apps.requests[0];
  t.equal(seen.headers.authorization, undefined, 'the verified token is removed (forwardOriginalToken false)');
  t.equal(seen.headers['x-jwt-payload'], good.split('.')[1], 'outputPayloadToHeader: the payload, base64url');
  t.same(JSON.parse(Buffer.from(String(seen.headers['x-jwt-payload']), 'base64url').toString()).sub, 'alice');
  t.equal(seen.headers['x-jwt-sub'], 'alice', 'outputClaimToHeaders');

  const lower = await send(apps, { path: '/rs', headers: { authorization: `bearer ${good}` } });
  t.equal(lower.status, 200, 'the Bearer prefix matches in any case');

  const bad = await send(apps, { path: '/bad', headers: bearer(await token(other, { iss: RS_ISS, sub: 'alice', aud: 'svc-a' })) });
  t.equal(bad.status, 401, 'a bad signature: 401');
  t.equal(bad.body, 'Jwt verification fails');
  t.equal(bad.headers['www-authenticate'], `Bearer realm="http://httpbin.foo:8000/bad", error="invalid_token"`);

  const garbage = await send(apps, { path: '/garbage', headers: bearer('deadbeef') });
  t.equal(garbage.status, 401, 'not a JWT at all: 401 (Istio task: "Bearer deadbeef")');

  const iss = await send(apps, { path: '/iss', headers: bearer(await token(rs, { iss: 'https://evil.example.com', sub: 'alice', aud: 'svc-a' })) });
  t.equal(iss.status, 401, 'an unknown issuer: 401');
  t.equal(iss.body, 'Jwt issuer is not configured');

  const now = Math.floor(Date.now() / 1000);
  const expired = await send(apps, { path: '/exp', headers: bearer(await token(rs, { iss: RS_ISS, sub: 'alice', aud: 'svc-a', exp: now - 120 })) });
  t.equal(expired.status, 401, 'expired: 401');
  t.equal(expired.body, 'Jwt is expired');
  const skew = await send(apps, { path: '/skew', headers: bearer(await token(rs, { iss: RS_ISS, sub: 'alice', aud: 'svc-a', exp: now - 30 })) });
  t.equal(skew.status, 200, 'expired 30 s ago: within the 60 s clock skew');
  const early = await send(apps, { path: '/nbf', headers: bearer(await token(rs, { iss: RS_ISS, sub: 'alice', aud: 'svc-a', nbf: now + 600 })) });
  t.equal(early.body, 'Jwt not yet valid');

  const aud = await send(apps, { path: '/aud', headers: bearer(await token(rs, { iss: RS_ISS, sub: 'alice', aud: 'svc-z' })) });
  t.equal(aud.status, 403, 'a wrong audience: 403, as Envoy answers JwtAudienceNotAllowed');
  t.equal(aud.body, 'Audiences in Jwt are not allowed');
  const audList = await send(apps, { path: '/aud2', headers: bearer(await token(rs, { iss: RS_ISS, sub: 'alice', aud: ['x', 'svc-b'] })) });
  t.equal(audList.status, 200, 'any listed audience will do');

  const grpc = await send(apps, { method: 'POST', path: '/pkg.Svc/Get', headers: { ...bearer('a.b.c'), 'content-type': 'application/grpc', te: 'trailers' } });
  t.equal(grpc.status, 200);
  t.equal(grpc.headers['grpc-status'], '16', 'gRPC: UNAUTHENTICATED');

  const esTok = await token(es, { iss: ES_ISS, sub: 'bob' });
  apps.requests.length = 0;
  const hdr = await send(apps, { path: '/es', headers: { 'x-token': `Tok ${esTok}` } });
  t.equal(hdr.status, 200, 'ES256 token in a custom header after its prefix (keys fetched over HTTP)');
  t.equal(apps.requests[0].headers['x-token'], undefined, 'removed once verified');
  const param = await send(apps, { path: `/es?a=1&token=${esTok}` });
  t.equal(param.status, 200, 'a token in a query parameter');
  t.equal(apps.requests[1].url, '/es?a=1', 'the parameter is removed once verified');
  const esBad = await send(apps, { path: '/es', headers: { 'x-token': `Tok ${await token(es, { iss: ES_ISS, sub: 'bob', exp: now - 3600 })}` } });
  t.equal(esBad.status, 401);
  t.equal(server.hits(), 1, 'the remote key set was fetched once and cached');

  const lines = await sc.accessLog(3);
  t.equal(lines.find((l) => l.path === '/bad')?.response_code_details, 'jwt_authn_access_denied{Jwt_verification_fails}');

  const pre = await send(apps, { method: 'OPTIONS', path: '/cors', headers: { origin: 'http://x', 'access-control-request-method': 'GET', ...bearer('a.b.c') } });
  t.equal(pre.status, 200, 'a CORS preflight is not checked (bypass_cors_preflight)');
  const stats = await sc.stats();
  const stat = (name: string): number => Number(new RegExp(`^http\\.inbound_[^ ]+_${apps.httpPort}\\.jwt_authn\\.${name}: (\\d+)$`, 'm').exec(stats)?.[1] ?? -1);
  t.equal(stat('denied'), 8, 'http.<prefix>.jwt_authn.denied');
  t.equal(stat('allowed'), 7, 'http.<prefix>.jwt_authn.allowed');
  t.equal(stat('cors_preflight_bypassed'), 1);
  t.match(await sc.prometheus(), /^envoy_http_jwt_authn_denied\{envoy_http_conn_manager_prefix="inbound_[^"]+"\} 8$/m, 'Prometheus: envoy_http_jwt_authn_denied');
});

const requireJwt = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: require-jwt, namespace: foo }
spec:
  selector: { matchLabels: { app: httpbin } }
  rules:
  - from: [{ source: { requestPrincipals: ["*"] } }]
    to: [{ operation: { paths: [/any] } }]
  - from: [{ source: { requestPrincipals: ["${RS_ISS}/alice"] } }]
    to: [{ operation: { paths: [/alice] } }]
  - to: [{ operation: { paths: [/admins] } }]
    when:
    - key: request.auth.claims[groups]
      values: [admins]
  - to: [{ operation: { paths: [/aud] } }]
    when:
    - key: request.auth.audiences
      values: [svc-b]
  - to: [{ operation: { paths: [/scope] } }]
    when:
    - key: request.auth.claims[scope]
      values: [write]
`;

t.test('AuthorizationPolicy sees what jwt_authn verified', async (t) => {
  const { rs, apps } = await setup(t, requireJwt);
  const bearer = (tok: string): Record<string, string> => ({ authorization: `Bearer ${tok}` });
  const alice = await token(rs, { iss: RS_ISS, sub: 'alice', aud: 'svc-a', groups: ['admins', 'dev'] });
  const carol = await token(rs, { iss: RS_ISS, sub: 'carol', aud: ['svc-a', 'svc-b'], groups: 'users' });

  const anon = await send(apps, { path: '/any' });
  t.equal(anon.status, 403, 'requestPrincipals ["*"]: no token, denied');
  t.equal(anon.body, 'RBAC: access denied');
  t.equal((await send(apps, { path: '/any', headers: bearer(alice) })).status, 200, 'a valid token: allowed');
  t.equal((await send(apps, { path: '/alice', headers: bearer(alice) })).status, 200, 'iss/sub matches alice');
  t.equal((await send(apps, { path: '/alice', headers: bearer(carol) })).status, 403, 'carol is not alice');
  t.equal((await send(apps, { path: '/admins', headers: bearer(alice) })).status, 200, 'groups claim (a list) holds admins');
  t.equal((await send(apps, { path: '/admins', headers: bearer(carol) })).status, 403, 'groups "users": denied');
  t.equal((await send(apps, { path: '/admins' })).status, 403, 'no token, no claims');
  t.equal((await send(apps, { path: '/aud', headers: bearer(carol) })).status, 200, 'request.auth.audiences holds svc-b');
  t.equal((await send(apps, { path: '/aud', headers: bearer(alice) })).status, 403, 'alice is only for svc-a');
  const writer = await token(rs, { iss: RS_ISS, sub: 'w', aud: 'svc-a', scope: 'read write' });
  t.equal((await send(apps, { path: '/scope', headers: bearer(writer) })).status, 200, 'scope "read write" is split at spaces: holds write');
  t.equal((await send(apps, { path: '/scope', headers: bearer(alice) })).status, 403, 'no scope claim');
});
