/** The control plane's own bookkeeping: registered pods (local mode) and the startup window. */
import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ProxySyncStatus } from '@minimesh/xds';
import { ControlPlane } from '../src/server/control-plane.js';

const NODE = 'sidecar~127.0.0.71~web-5d8f-abcde.shop~shop.svc.cluster.local';
const DEPLOYMENT = (port: number): string => `apiVersion: apps/v1
kind: Deployment
metadata: { name: web, namespace: shop }
spec:
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec: { containers: [{ name: web, image: web, ports: [{ name: http, containerPort: ${port} }] }] }
`;
const VS = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: web, namespace: shop }
spec: { hosts: [web], http: [{ route: [{ destination: { host: web } }] }] }
`;
const SVC = `apiVersion: v1
kind: Service
metadata: { name: web, namespace: shop }
spec: { selector: { app: web }, ports: [{ name: http, port: 80, targetPort: http }] }
`;

function folder(t: { teardown(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mm-cp-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const options = (dir: string, local = false) => ({
  source: { kind: 'folder' as const, dir },
  xdsAddress: { host: '127.0.0.1', port: 0 },
  debugAddress: { host: '127.0.0.1', port: 0 },
  local,
  debounce: { quietMs: 5, maxMs: 20 },
  print: () => {},
});

async function until(cond: () => boolean, ms = 2000): Promise<boolean> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
  return cond();
}

t.test('local mode: a registered pod follows its Deployment as it changes after the proxy connected', async (t) => {
  const dir = folder(t);
  fs.writeFileSync(path.join(dir, 'svc.yaml'), SVC);
  const cp = new ControlPlane(options(dir, true));
  await cp.start();
  t.teardown(() => cp.stop());
  // A sidecar connects before its Deployment is in the folder.
  cp.xds.emit('connect', { nodeId: NODE, cluster: 'web.shop', metadata: { LABELS: { app: 'web' } } } as unknown as ProxySyncStatus);
  const pod = () => cp.model.pods.find((p) => p.metadata.name === 'web-5d8f-abcde');
  t.same(pod()?.spec?.containers?.[0]?.ports, undefined, 'no Deployment yet: no container ports');

  fs.writeFileSync(path.join(dir, 'deploy.yaml'), DEPLOYMENT(8080));
  cp.rescan();
  t.ok(await until(() => pod()?.spec?.containers?.[0]?.ports?.[0]?.containerPort === 8080), 'the ports of the Deployment that came later');
  fs.writeFileSync(path.join(dir, 'deploy.yaml'), DEPLOYMENT(9090));
  cp.rescan();
  t.ok(await until(() => pod()?.spec?.containers?.[0]?.ports?.[0]?.containerPort === 9090), 'and of its new version');
  t.ok(cp.model.services.find((s) => s.name === 'web')?.endpoints.get(80)?.some((e) => e.address === '127.0.0.71' && e.port === 9090), 'the Service reaches the pod on the new port');
});

t.test('a source change between the first model and ready is pushed once ready', async (t) => {
  const dir = folder(t);
  fs.writeFileSync(path.join(dir, 'svc.yaml'), SVC);
  const cp = new ControlPlane(options(dir));
  // Inside the startup window (the model is built, the servers are starting): a new file.
  const listen = cp.xds.listen.bind(cp.xds);
  cp.xds.listen = async (host: string, port: number) => {
    fs.writeFileSync(path.join(dir, 'vs.yaml'), VS);
    cp.rescan();
    return listen(host, port);
  };
  await cp.start();
  t.teardown(() => cp.stop());
  t.ok(await until(() => cp.pushCount > 0, 500), 'pushed once ready');
  t.same(
    cp.model.virtualServices.map((v) => v.metadata.name),
    ['web'],
    'the model has the change',
  );
});
