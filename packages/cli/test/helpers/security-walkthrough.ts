/**
 * examples/security/README.md, step by step, against `npm run start:security` (one mesh for
 * every step): the commands the README shows (curl through the callers' sidecars, curl straight
 * to the echo sidecar, openssl s_client, minimesh proxy-config secret) run as a shell runs them,
 * and the answers the README prints are asserted: status lines, bodies (`RBAC: access denied`,
 * the JWT errors, the caller's identity), the spiffe SAN, curl's exit code under STRICT.
 * Policies are applied as the README says (a file of policies/ copied into the watched folder),
 * into a copy of examples/security/k8s so the repository is left as it was. Last, the dashboard
 * of the same mesh: the frontend -> echo edge is mTLS with both principals, and carries its lock.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Test } from 'tap';
import { pageShowsLock, waitForEdge } from './mesh-graph.js';

export interface Shell {
  code: number;
  out: string;
}

/** Runs `cmd` with sh in the repository, as the README's reader does. */
export function sh(repo: string, cmd: string, env: Record<string, string> = {}): Promise<Shell> {
  return new Promise((resolve) => {
    execFile('sh', ['-c', cmd], { cwd: repo, env: { ...process.env, ...env }, timeout: 20000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1;
      resolve({ code, out: `${stdout}${stderr}` });
    });
  });
}

/** Repeats `cmd` until `ok` holds (config takes a moment to reach the sidecars); returns the last run. */
async function until(repo: string, cmd: string, ok: (r: Shell) => boolean, env: Record<string, string> = {}, ms = 30000): Promise<Shell> {
  const end = Date.now() + ms;
  let r = await sh(repo, cmd, env);
  while (!ok(r) && Date.now() < end) {
    await new Promise((res) => setTimeout(res, 300));
    r = await sh(repo, cmd, env);
  }
  return r;
}

const ECHO = 'http://echo.demo.svc.cluster.local';
const AS_FRONTEND = `curl -si -x 127.0.0.3:15001`;
const AS_BATCH = `curl -si -x 127.0.0.4:15001`;
const status = (r: Shell): string => /^HTTP\/1\.1 (\d{3})/.exec(r.out)?.[1] ?? `no status (exit ${r.code}): ${r.out.slice(0, 200)}`;
const body = (r: Shell): string => r.out.split(/\r?\n\r?\n/).slice(1).join('\n\n').trim();

/** A copy of examples/security/k8s the walkthrough's mesh watches (SECURITY_CONFIG_DIR). */
export function configCopy(t: Test, repo: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mm-security-k8s-'));
  fs.cpSync(path.join(repo, 'examples/security/k8s'), dir, { recursive: true });
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** The README's steps 1-5 on a running `npm run start:security` watching `k8s`. */
export async function walkthrough(t: Test, repo: string, k8s: string): Promise<void> {
  const apply = (file: string): void => fs.copyFileSync(path.join(repo, 'examples/security/policies', file), path.join(k8s, file));
  const remove = (file: string): void => fs.rmSync(path.join(k8s, file));

  await t.test('0. both callers reach echo through their sidecars, with their identities', async (t) => {
    const f = await until(repo, `${AS_FRONTEND} ${ECHO}/hello`, (r) => status(r) === '200');
    t.equal(status(f), '200');
    t.equal(body(f), 'echo: GET /hello from spiffe://cluster.local/ns/demo/sa/frontend');
    const b = await sh(repo, `${AS_BATCH} ${ECHO}/hello`);
    t.equal(body(b), 'echo: GET /hello from spiffe://cluster.local/ns/demo/sa/batch');
  });

  await t.test('1. the identities: proxy-config secret and openssl s_client', async (t) => {
    const secret = await sh(repo, 'npx minimesh proxy-config secret echo-local-00001.demo');
    t.equal(secret.code, 0);
    t.match(secret.out, /^RESOURCE NAME\s+TYPE\s+STATUS\s+VALID CERT\s+SERIAL NUMBER\s+NOT AFTER\s+NOT BEFORE$/m);
    t.match(secret.out, /^ROOTCA\s+CA\s+ACTIVE\s+true\s+[0-9a-f]+\s/m);
    t.match(secret.out, /^default\s+Cert Chain\s+ACTIVE\s+true\s+[0-9a-f]+\s/m);
    const san = await sh(repo, 'openssl s_client -connect 127.0.0.2:8000 -alpn istio-http/1.1 </dev/null 2>/dev/null | openssl x509 -noout -ext subjectAltName');
    t.equal(san.out.trim(), 'X509v3 Subject Alternative Name: critical\n    URI:spiffe://cluster.local/ns/demo/sa/echo', 'the echo sidecar presents its spiffe identity');
    const alpn = await sh(repo, "openssl s_client -connect 127.0.0.2:8000 -alpn istio-http/1.1 </dev/null 2>/dev/null | grep -E '^(ALPN protocol|Acceptable client certificate CA names)'");
    t.equal(alpn.out.trim(), 'Acceptable client certificate CA names\nALPN protocol: istio-http/1.1', 'the mesh ALPN is taken and a client certificate is asked for');
    const plain = await sh(repo, 'curl -si http://127.0.0.2:8000/hello');
    t.equal(status(plain), '200', 'PERMISSIVE: plaintext straight to the sidecar is still served');
    t.equal(body(plain), 'echo: GET /hello from no client certificate (plaintext)');
  });

  await t.test('2. STRICT: plaintext refused, mesh traffic keeps working', async (t) => {
    apply('strict-mtls.yaml');
    const plain = await until(repo, 'curl -sS http://127.0.0.2:8000/hello', (r) => r.code !== 0);
    t.equal(plain.code, 52, 'curl exits 52');
    t.equal(plain.out.trim(), 'curl: (52) Empty reply from server');
    const stats = await sh(repo, "curl -s http://127.0.0.2:15000/stats | grep no_filter_chain_match");
    t.match(stats.out, /^listener\.127\.0\.0\.2_8000\.no_filter_chain_match: [1-9]\d*$/m, 'counted as no_filter_chain_match');
    const mesh = await sh(repo, `curl -s -x 127.0.0.3:15001 ${ECHO}/hello`);
    t.equal(mesh.out.trim(), 'echo: GET /hello from spiffe://cluster.local/ns/demo/sa/frontend', 'mesh traffic: unchanged');
  });

  await t.test('3. DENY for the batch principal: 403 for batch only', async (t) => {
    apply('deny-batch.yaml');
    const b = await until(repo, `${AS_BATCH} ${ECHO}/hello`, (r) => status(r) === '403');
    t.equal(status(b), '403');
    t.match(b.out, /^HTTP\/1\.1 403 Forbidden\r?\ncontent-length: 19\r?\ncontent-type: text\/plain\r?\n/);
    t.equal(body(b), 'RBAC: access denied');
    const f = await sh(repo, `${AS_FRONTEND} ${ECHO}/hello`);
    t.equal(status(f), '200', 'frontend: still 200');
    const rbac = await sh(repo, "curl -s http://127.0.0.2:15000/stats | grep 'rbac\\.denied'");
    t.match(rbac.out, /^http\.inbound_127\.0\.0\.2_8000\.rbac\.denied: [1-9]\d*$/m);
    remove('deny-batch.yaml');
  });

  await t.test('4. ALLOW GET /api/* for frontend: the rest is denied', async (t) => {
    apply('allow-frontend-get.yaml');
    // A POST is refused only once the ALLOW policy is in (the DENY of step 3 let frontend do anything).
    const post = await until(repo, `${AS_FRONTEND} -X POST ${ECHO}/api/orders`, (r) => status(r) === '403');
    t.equal(status(post), '403', 'frontend POST /api/orders: 403');
    t.equal(body(post), 'RBAC: access denied');
    const ok = await sh(repo, `${AS_FRONTEND} ${ECHO}/api/orders`);
    t.equal(status(ok), '200', 'frontend GET /api/orders: 200');
    t.equal(body(ok), 'echo: GET /api/orders from spiffe://cluster.local/ns/demo/sa/frontend');
    const admin = await sh(repo, `${AS_FRONTEND} ${ECHO}/admin`);
    t.equal(status(admin), '403', 'frontend GET /admin: 403');
    t.equal(body(admin), 'RBAC: access denied');
    const b = await sh(repo, `${AS_BATCH} ${ECHO}/api/orders`);
    t.equal(status(b), '403', 'batch GET /api/orders: 403 (not in the ALLOW rule)');
    t.equal(body(b), 'RBAC: access denied');
    remove('allow-frontend-get.yaml');
  });

  await t.test('5. RequestAuthentication + requestPrincipals: 401 bad token, 403 none, 200 valid', async (t) => {
    apply('require-jwt.yaml');
    const token = (await sh(repo, 'node examples/security/token.js')).out.trim();
    t.match(token, /^[\w-]+\.[\w-]+\.[\w-]+$/, 'token.js prints a JWT');
    // Only the RequestAuthentication answers 401: the signal that step 5's config is in.
    const bad = await until(repo, `${AS_FRONTEND} -H "Authorization: Bearer not-a-token" ${ECHO}/hello`, (r) => status(r) === '401');
    t.equal(status(bad), '401', 'a malformed token: 401');
    t.match(bad.out, /^www-authenticate: Bearer realm="http:\/\/echo\.demo\.svc\.cluster\.local\/hello", error="invalid_token"\r?$/m);
    t.equal(body(bad), 'Jwt is not in the form of Header.Payload.Signature with two dots and 3 sections');
    const none = await sh(repo, `${AS_FRONTEND} ${ECHO}/hello`);
    t.equal(status(none), '403', 'no token: 403');
    t.equal(body(none), 'RBAC: access denied');
    const forged = await sh(repo, `${AS_FRONTEND} -H "Authorization: Bearer \${TOKEN%????}AAAA" ${ECHO}/hello`, { TOKEN: token });
    t.equal(status(forged), '401', 'a token whose signature does not verify: 401');
    t.equal(body(forged), 'Jwt verification fails');
    const good = await sh(repo, `${AS_FRONTEND} -H "Authorization: Bearer $TOKEN" ${ECHO}/hello`, { TOKEN: token });
    t.equal(status(good), '200', 'a valid token: 200');
    t.equal(body(good), 'echo: GET /hello from spiffe://cluster.local/ns/demo/sa/frontend');
    remove('require-jwt.yaml');
    remove('strict-mtls.yaml');
  });

  await t.test('the dashboard: the lock on frontend -> echo, with the principals', async (t) => {
    // A rate needs the counters to grow between two scrapes: keep frontend calling meanwhile.
    const traffic = setInterval(() => void sh(repo, `curl -s -o /dev/null -x 127.0.0.3:15001 ${ECHO}/hello`), 500);
    t.teardown(() => clearInterval(traffic));
    const { edge } = await waitForEdge(t, 'namespaces=demo&graphType=workload&duration=60s', 'frontend', 'echo', 60000);
    t.ok(edge, 'GET /api/namespaces/graph: frontend -> echo with a rate');
    t.equal(edge?.isMTLS, '100', 'isMTLS: all of it');
    t.equal(edge?.sourcePrincipal, 'spiffe://cluster.local/ns/demo/sa/frontend');
    t.equal(edge?.destPrincipal, 'spiffe://cluster.local/ns/demo/sa/echo');
    if (edge !== undefined) t.equal(await pageShowsLock(t, 'demo', edge.id, 'security-graph.png'), 'mTLS 100%', 'the page draws the lock on it');
  });
}
