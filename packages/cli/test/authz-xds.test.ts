/**
 * AuthorizationPolicy through the whole pipeline: a control plane on a YAML folder pushes a
 * sidecar (xDS, local mode) its inbound listener; writing a policy file denies within a
 * second and deleting it allows again, with no restart.
 */
import t from 'tap';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { ControlPlane } from '@minimesh/control-plane/server/control-plane';
import { startXdsProxy } from '@minimesh/proxy/xds-mode';
import { log } from '@minimesh/proxy/log';

log.level = 'warn';
const POD_IP = '127.0.0.63';
const NODE = `sidecar~${POD_IP}~web-local-00001.test~test.svc.cluster.local`;

function get(port: number, p: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: POD_IP, port, path: p, agent: false }, (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

async function until(what: string, cond: () => Promise<boolean>, ms: number): Promise<number> {
  const start = Date.now();
  while (Date.now() - start < ms) {
    try {
      if (await cond()) return Date.now() - start;
    } catch {
      // not yet
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`${what}: not within ${ms} ms`);
}

t.test('a policy file denies within a second, its removal allows again', async (t) => {
  const app = http.createServer((req, res) => res.end(`app ${req.url}`));
  await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
  const port = (app.address() as AddressInfo).port;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'minimesh-authz-'));
  fs.writeFileSync(
    path.join(dir, 'web.yaml'),
    `apiVersion: v1
kind: Namespace
metadata: { name: test }
---
apiVersion: v1
kind: Service
metadata: { name: web, namespace: test }
spec: { selector: { app: web }, ports: [{ name: http, port: 80, targetPort: ${port} }] }
---
apiVersion: v1
kind: Pod
metadata: { name: web-local-00001, namespace: test, labels: { app: web } }
spec: { containers: [{ name: web, image: web, ports: [{ containerPort: ${port} }] }] }
status: { podIP: ${POD_IP}, phase: Running }
`,
  );
  const cp = new ControlPlane({ source: { kind: 'folder', dir }, xdsAddress: { host: '127.0.0.1', port: 0 }, debugAddress: { host: '127.0.0.1', port: 0 }, local: true, print: () => {} });
  await cp.start();
  const proxy = await startXdsProxy({
    server: `127.0.0.1:${cp.xdsPort}`,
    node: { id: NODE, cluster: 'web.test', metadata: { LABELS: { app: 'web' } } },
    adminAddress: '127.0.0.1',
    adminPort: undefined,
    healthAddress: '127.0.0.1',
    healthPort: undefined,
    drainTimeMs: 100,
    backoff: { initialMs: 50, maxMs: 200 },
  });
  t.teardown(async () => {
    await proxy.stop();
    await cp.stop();
    app.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  await until('the inbound listener answers', async () => (await get(port, '/admin')).status === 200, 5000);
  t.equal((await get(port, '/admin')).body, 'app /admin', 'no policy: the app answers');

  fs.writeFileSync(
    path.join(dir, 'policy.yaml'),
    `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: deny-admin, namespace: test }
spec:
  selector: { matchLabels: { app: web } }
  action: DENY
  rules:
  - to:
    - operation: { paths: ["/admin*"] }
`,
  );
  const took = await until('the DENY policy is enforced', async () => (await get(port, '/admin')).status === 403, 2000);
  t.ok(took < 1200, `denied within ${took} ms`);
  const denied = await get(port, '/./admin');
  t.same(denied, { status: 403, body: 'RBAC: access denied' }, 'a normalized bypass attempt is denied too');
  t.equal((await get(port, '/other')).status, 200, 'other paths still reach the app');

  fs.rmSync(path.join(dir, 'policy.yaml'));
  await until('the policy removal is pushed', async () => (await get(port, '/admin')).status === 200, 2000);
  t.pass('allowed again without a restart');
});
