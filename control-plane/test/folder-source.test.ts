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

t.test('a file that does not parse keeps its last good resources (syntax error, truncated write)', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mm-folder-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'a.yaml');
  fs.writeFileSync(file, `${SVC}---\n${vs(80)}`);
  const changes: string[][] = [];
  const src = new FolderSource(dir, { onChange: (r) => changes.push(names(r)) });
  t.same(src.scan(), []);
  t.same(changes, [['Service/echo', 'VirtualService/reviews']]);

  // `hosts: [reviews` unclosed: reported, the VirtualService keeps serving, nothing pushed.
  fs.writeFileSync(file, `${SVC}---\n${vs(80).replace('hosts: [reviews]', 'hosts: [reviews')}`);
  const issues = src.scan().map(formatIssue);
  t.match(issues[0], /^\(unknown\) default\/\(unparsed\): YAML syntax error.* \(a\.yaml#1\)$/);
  t.match(issues[1], /^VirtualService default\/reviews: the new version is invalid; keeping the last good version$/);
  t.same(names(src.resources()), ['Service/echo', 'VirtualService/reviews']);
  t.equal(changes.length, 1, 'no change pushed');

  // A half-written file: the first document cut short; everything it held keeps serving.
  fs.writeFileSync(file, `${SVC.slice(0, SVC.indexOf('namespace: demo'))}`);
  t.match(src.scan().map(formatIssue)[0], /YAML syntax error.*\(a\.yaml#0\)$/);
  t.same(names(src.resources()), ['Service/echo', 'VirtualService/reviews']);
  const kept = src.resources().find((r) => r.kind === 'VirtualService') as { spec: { http: { route: { weight: number }[] }[] } };
  t.equal(kept.spec.http[0].route[0].weight, 80);
  t.equal(changes.length, 1, 'still no change pushed');

  // Fixed: the new content counts again (the VirtualService now gone from the file, for real).
  fs.writeFileSync(file, SVC);
  t.same(src.scan(), []);
  t.same(changes.at(-1), ['Service/echo']);
});

t.test('a folder deleted or renamed keeps the config; re-created, it is watched and scanned again', async (t) => {
  const parent = fs.mkdtempSync(path.join(os.tmpdir(), 'mm-folder-'));
  t.teardown(() => fs.rmSync(parent, { recursive: true, force: true }));
  const dir = path.join(parent, 'config');
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'svc.yaml'), SVC);
  const changes: string[][] = [];
  const issues: string[] = [];
  let onChangeHook = (): void => {};
  const src = new FolderSource(dir, {
    debounceMs: 10,
    retryMs: 20,
    onChange: (r) => {
      changes.push(names(r));
      onChangeHook();
    },
    onIssues: (is) => issues.push(...is.map(formatIssue)),
  });
  t.teardown(() => src.stop());
  src.start();
  t.same(changes, [['Service/echo']]);

  // Renamed away: reported, nothing removed, nothing pushed.
  fs.renameSync(dir, path.join(parent, 'old'));
  t.match(src.scan().map(formatIssue), [/cannot read folder/]);
  await new Promise((r) => setTimeout(r, 100));
  t.same(names(src.resources()), ['Service/echo']);
  t.same(changes, [['Service/echo']], 'no empty config pushed');
  t.ok(issues.some((i) => /cannot read folder/.test(i)), 'reported');

  // Re-created under the same path: found again, watched, and later edits are seen.
  const rescanned = new Promise<void>((r) => (onChangeHook = r));
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'svc.yaml'), SVC);
  fs.writeFileSync(path.join(dir, 'vs.yaml'), vs(80));
  await rescanned;
  t.same(names(src.resources()), ['Service/echo', 'VirtualService/reviews']);
  const edited = new Promise<void>((r) => (onChangeHook = r));
  fs.rmSync(path.join(dir, 'vs.yaml'));
  await edited;
  t.same(changes.at(-1), ['Service/echo'], 'the new folder is watched');
});
