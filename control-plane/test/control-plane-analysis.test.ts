/**
 * The control plane runs every analyzer of `minimesh analyze` on each change of its source and
 * prints each finding once: not again while nothing changed or while other things change, and
 * again after it was fixed and came back. The lines are the CLI's for the same resources.
 */
import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ProxySyncStatus } from '@minimesh/xds';
import { readManifestText } from '../src/analyze/analyzed-resource.js';
import { defaultMeshResources } from '../src/analyze/run-analysis.js';
import { ControlPlane } from '../src/server/control-plane.js';
import { meshAnalysisLines } from '../src/server/mesh-analysis.js';
import { SOURCE_TEST_DIR } from './helpers/fixtures.js';

const DR = (ca: boolean): string => `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: db, namespace: shop }
spec: { host: db.example.com, trafficPolicy: { tls: { mode: SIMPLE${ca ? ', caCertificates: /etc/ca.pem' : ''} } } }
`;
const SVC = `apiVersion: v1
kind: Service
metadata: { name: web, namespace: shop, annotations: { networking.istio.io/exportto: "." } }
spec: { selector: { app: web }, ports: [{ name: web, port: 80 }] }
`;
const VS = (n: number): string => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: vs${n}, namespace: shop }
spec: { hosts: [web${n}.example.com], http: [{ route: [{ destination: { host: web } }] }] }
`;

const DR_LINE = 'Warning [IST0128] (DestinationRule shop/db) DestinationRule shop/db in namespace shop has TLS mode set to SIMPLE but no caCertificates are set to validate server identity for host: db.example.com';
const ANNOTATION_LINE = 'Warning [IST0108] (Service shop/web) Unknown annotation: networking.istio.io/exportto';
const PORT_LINE = "Info [IST0118] (Service shop/web) Port name web (port: 80, targetPort: 0) doesn't follow the naming convention of Istio port.";

async function until(cond: () => boolean, ms = 3000): Promise<boolean> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
  return cond();
}

t.test('each finding is printed once per change, again only when it comes back', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mm-cp-analysis-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.writeFileSync(path.join(dir, 'dr.yaml'), DR(false));
  fs.writeFileSync(path.join(dir, 'svc.yaml'), SVC);
  const printed: string[] = [];
  const cp = new ControlPlane({
    source: { kind: 'folder', dir },
    xdsAddress: { host: '127.0.0.1', port: 0 },
    debugAddress: { host: '127.0.0.1', port: 0 },
    debounce: { quietMs: 5, maxMs: 20 },
    print: (l) => printed.push(l),
  });
  await cp.start();
  t.teardown(() => cp.stop());
  const count = (line: string): number => printed.filter((l) => l === line).length;
  t.same([count(DR_LINE), count(ANNOTATION_LINE), count(PORT_LINE)], [1, 1, 1], `each printed once at start:\n${printed.join('\n')}`);

  for (let i = 1; i <= 2; i++) {
    const pushes = cp.pushCount;
    fs.writeFileSync(path.join(dir, `vs${i}.yaml`), VS(i));
    cp.rescan();
    t.ok(await until(() => cp.pushCount > pushes && cp.model.virtualServices.length === i), `change ${i} pushed`);
  }
  const pushes = cp.pushCount;
  cp.rescan(); // nothing changed on disk
  await new Promise((r) => setTimeout(r, 100));
  t.equal(cp.pushCount, pushes, 'a scan that changed nothing rebuilds nothing');
  t.same([count(DR_LINE), count(ANNOTATION_LINE), count(PORT_LINE)], [1, 1, 1], 'other changes and idle scans print nothing again');

  fs.writeFileSync(path.join(dir, 'dr.yaml'), DR(true));
  cp.rescan();
  t.ok(await until(() => cp.pushCount > pushes), 'the fix is a change');
  await new Promise((r) => setImmediate(r)); // the analysis runs just after the push
  const fixed = cp.pushCount;
  fs.writeFileSync(path.join(dir, 'dr.yaml'), DR(false));
  cp.rescan();
  t.ok(await until(() => cp.pushCount > fixed && count(DR_LINE) === 2), 'broken again: printed again');
  t.same([count(ANNOTATION_LINE), count(PORT_LINE)], [1, 1], 'the others still once');
});

t.test('local mode: a connected sidecar stands for a pod with its proxy (no IST0103 for it)', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mm-cp-analysis-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.writeFileSync(path.join(dir, 'ns.yaml'), 'apiVersion: v1\nkind: Namespace\nmetadata: { name: shop, labels: { istio-injection: enabled } }\n');
  fs.writeFileSync(path.join(dir, 'bare.yaml'), 'apiVersion: v1\nkind: Pod\nmetadata: { name: bare, namespace: shop }\nspec: { containers: [{ name: app, image: app }] }\n');
  const printed: string[] = [];
  const cp = new ControlPlane({
    source: { kind: 'folder', dir },
    xdsAddress: { host: '127.0.0.1', port: 0 },
    debugAddress: { host: '127.0.0.1', port: 0 },
    local: true,
    debounce: { quietMs: 5, maxMs: 20 },
    print: (l) => printed.push(l),
  });
  await cp.start();
  t.teardown(() => cp.stop());
  cp.xds.emit('connect', { nodeId: 'sidecar~127.0.0.71~web-1.shop~shop.svc.cluster.local', cluster: 'web.shop', metadata: { LABELS: { app: 'web' } } } as unknown as ProxySyncStatus);
  t.ok(await until(() => cp.model.pods.some((p) => p.metadata.name === 'web-1')), 'the pod is registered');
  await new Promise((r) => setImmediate(r)); // the analysis runs just after the rebuild
  t.same(
    printed.filter((l) => l.includes('[IST0103]')),
    ['Warning [IST0103] (Pod shop/bare) The pod shop/bare is missing the Istio proxy. This can often be resolved by restarting or redeploying the workload.'],
    'the registered pod is not reported as missing its proxy; a pod of the source without one is',
  );
  t.same(meshAnalysisLines([{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop', labels: { 'istio-injection': 'enabled' } } }, { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'bare', namespace: 'shop' }, spec: { containers: [{ name: 'app' }] } }]), [
    'Warning [IST0103] (Pod shop/bare) The pod shop/bare is missing the Istio proxy. This can often be resolved by restarting or redeploying the workload.',
  ], 'a pod of the source without its proxy is');
});

t.test('the control plane says what `minimesh analyze` says, for every golden case', async (t) => {
  const cases = path.join(SOURCE_TEST_DIR, 'analyze');
  for (const name of fs.readdirSync(cases).sort()) {
    // IST0106 (schema errors) the source reports as it reads; `clean` has nothing to say.
    if (name === 'IST0106' || name === 'clean') continue;
    const dir = path.join(cases, name);
    const read = readManifestText(fs.readFileSync(path.join(dir, 'input.yaml'), 'utf8'), 'input.yaml', 'default');
    // The files-only run adds the mesh's ingress gateway; in a cluster it is there.
    const lines = meshAnalysisLines([...read.resources, ...defaultMeshResources()].map((r) => r.obj));
    const expected = fs
      .readFileSync(path.join(dir, 'expected.txt'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => l.replace(/ input\.yaml:\d+\)/, ')'));
    t.same(lines, expected, name);
  }
});
