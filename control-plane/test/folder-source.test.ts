import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { formatIssue, type KubeResource } from '@minimesh/kube';
import { FolderSource } from '../src/index.js';

const SVC = `apiVersion: v1
kind: Service
metadata: { name: echo, namespace: demo }
spec: { selector: { app: echo }, ports: [{ name: http, port: 80, targetPort: 5678 }] }
`;
const vs = (weight: number | string): string => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: reviews, namespace: default }
spec:
  hosts: [reviews]
  http:
  - route:
    - destination: { host: reviews, subset: v1 }
      weight: ${weight}
    - destination: { host: reviews, subset: v2 }
      weight: 20
`;

const names = (rs: KubeResource[]): string[] => rs.map((r) => `${r.kind}/${r.metadata.name}`).sort();

t.test('scans multi-document files, reports invalid documents with file and index, keeps the rest', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mm-folder-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.writeFileSync(path.join(dir, 'a.yaml'), `${SVC}---\n${vs(80)}---\napiVersion: v1\nkind: ConfigMap\nmetadata: { name: ignored }\n`);
  let latest: KubeResource[] = [];
  const src = new FolderSource(dir, { onChange: (r) => (latest = r) });
  t.same(src.scan(), []);
  t.same(names(latest), ['Service/echo', 'VirtualService/reviews']);

  // A bad weight: reported precisely; the last good VirtualService keeps serving.
  fs.writeFileSync(path.join(dir, 'a.yaml'), `${SVC}---\n${vs(150)}`);
  const issues = src.scan().map(formatIssue);
  t.same(issues, [
    'VirtualService default/reviews: spec.http[0].route[0].weight: must be an integer 0..100 (a.yaml#1)',
    'VirtualService default/reviews: the new version is invalid; keeping the last good version',
  ]);
  const kept = latest.find((r) => r.kind === 'VirtualService') as { spec: { http: { route: { weight: number }[] }[] } };
  t.equal(kept.spec.http[0].route[0].weight, 80, 'the last good version stays');

  // Broken YAML in another file takes nothing else down.
  fs.writeFileSync(path.join(dir, 'b.yaml'), 'kind: [unclosed\n');
  const i2 = src.scan().map(formatIssue);
  t.match(i2.find((i) => i.includes('b.yaml')), /^\(unknown\) default\/\(unparsed\): YAML syntax error.* \(b\.yaml#0\)$/);
  t.same(names(src.resources()), ['Service/echo', 'VirtualService/reviews']);

  // Removing the file removes its resources.
  fs.rmSync(path.join(dir, 'a.yaml'));
  src.scan();
  t.same(names(latest), []);
});

t.test('watches the folder and re-scans after a quiet period', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mm-folder-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  let calls = 0;
  let latest: KubeResource[] = [];
  const changed = new Promise<void>((resolve) => {
    const src = new FolderSource(dir, {
      debounceMs: 30,
      onChange: (r) => {
        calls++;
        latest = r;
        if (r.length === 2) {
          src.stop();
          resolve();
        }
      },
    });
    src.start();
    t.teardown(() => src.stop());
    fs.writeFileSync(path.join(dir, 'svc.yaml'), SVC);
    fs.writeFileSync(path.join(dir, 'vs.yml'), vs(80));
  });
  await changed;
  t.same(names(latest), ['Service/echo', 'VirtualService/reviews']);
  t.ok(calls <= 2, `debounced (${calls} change callbacks)`);
});
