/**
 * The control plane follows its mesh config file as a mounted ConfigMap changes (kubelet swaps
 * the `..data` symlink): a new good config is pushed to the connected proxies, a bad one is
 * reported with file and line while the last good one keeps serving; `--mesh-config` and its
 * --kube default.
 */
import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ProxySyncStatus } from '@minimesh/xds';
import { ControlPlane } from '../src/server/control-plane.js';
import { ControlPlaneUsageError, parseControlPlaneArgs } from '../src/server/control-plane-args.js';
import { MeshConfigWatcher } from '../src/server/mesh-config-watcher.js';
import { DEFAULT_MESH_CONFIG } from '../src/model/mesh-config.js';
import type { JsonObject } from '../src/generate/envoy-json.js';

const NODE = 'sidecar~127.0.0.71~web-5d8f-abcde.shop~shop.svc.cluster.local';
const CONFIG = `apiVersion: v1
kind: Service
metadata: { name: web, namespace: shop }
spec: { selector: { app: web }, ports: [{ name: http, port: 80, targetPort: 8080 }] }
`;
const ON = 'accessLogFile: /dev/stdout\ndefaultConfig:\n  discoveryAddress: istiod.istio-system.svc:15012\nrootNamespace: istio-system\n';
const OFF = 'defaultConfig:\n  discoveryAddress: istiod.istio-system.svc:15012\nrootNamespace: istio-system\n';

function tmp(t: { teardown(fn: () => void): void }, prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A folder laid out as kubelet mounts a ConfigMap: `mesh -> ..data/mesh`, `..data -> ..<version>`. */
class MountedConfigMap {
  private version = 0;
  constructor(readonly dir: string) {}
  get file(): string {
    return path.join(this.dir, 'mesh');
  }
  /** Writes a new version and swaps `..data` to it atomically, removing the old one. */
  update(mesh: string): void {
    const old = this.version > 0 ? path.join(this.dir, `..v${this.version}`) : undefined;
    const next = `..v${++this.version}`;
    fs.mkdirSync(path.join(this.dir, next));
    fs.writeFileSync(path.join(this.dir, next, 'mesh'), mesh);
    fs.symlinkSync(next, path.join(this.dir, '..data_tmp'));
    fs.renameSync(path.join(this.dir, '..data_tmp'), path.join(this.dir, '..data'));
    if (!fs.existsSync(this.file)) fs.symlinkSync(path.join('..data', 'mesh'), this.file);
    if (old) fs.rmSync(old, { recursive: true });
  }
}

async function until(cond: () => boolean, ms = 5000): Promise<boolean> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
  return cond();
}

const accessLogs = (cp: ControlPlane): unknown[] =>
  (cp.generatedFor(NODE)?.resources.listeners ?? []).flatMap((l: JsonObject) =>
    ((l.filter_chains as { filters: { typed_config: { access_log?: unknown[] } }[] }[]) ?? []).flatMap((fc) => fc.filters.flatMap((f) => f.typed_config.access_log ?? [])),
  );

t.test('a mounted ConfigMap: changes are pushed, a bad version is reported and the last good one serves', async (t) => {
  const folder = tmp(t, 'mm-cp-');
  fs.writeFileSync(path.join(folder, 'web.yaml'), CONFIG);
  const cm = new MountedConfigMap(tmp(t, 'mm-mesh-'));
  cm.update(`${ON}extensionProviders: []\n`);
  const lines: string[] = [];
  const cp = new ControlPlane({
    source: { kind: 'folder', dir: folder },
    xdsAddress: { host: '127.0.0.1', port: 0 },
    debugAddress: { host: '127.0.0.1', port: 0 },
    debounce: { quietMs: 5, maxMs: 20 },
    meshConfigFile: cm.file,
    print: (l) => lines.push(l),
  });
  await cp.start();
  t.teardown(() => cp.stop());
  t.equal(cp.meshConfig.accessLogFile, '/dev/stdout', 'read at start');
  t.same(lines.filter((l) => l.includes('mesh config')), [`Warning: mesh config ${cm.file}:5:1: extensionProviders: not supported by minimesh; ignored`], 'the unsupported key, once');
  cp.xds.emit('connect', { nodeId: NODE, cluster: 'web.shop', metadata: { LABELS: { app: 'web' } } } as unknown as ProxySyncStatus);
  t.equal(accessLogs(cp).length, 1, 'the connected sidecar gets the access log');

  // Bad YAML: reported with file and line; nothing pushed, the access log stays.
  const pushes = cp.pushCount;
  cm.update(`${ON}defaultConfig: [\n`);
  t.ok(await until(() => lines.some((l) => l.startsWith('Error: mesh config'))), 'the bad version is reported');
  t.match(lines.find((l) => l.startsWith('Error: mesh config')), new RegExp(`^Error: mesh config ${cm.file.replace(/[.]/g, '\\.')}:\\d+:\\d+: not valid YAML: .*; keeping the last good mesh config$`));
  await new Promise((r) => setTimeout(r, 200));
  t.equal(cp.pushCount, pushes, 'no push');
  t.equal(cp.meshConfig.accessLogFile, '/dev/stdout', 'the last good mesh config serves');
  t.equal(accessLogs(cp).length, 1);

  // A good version without accessLogFile: pushed, the access log goes away.
  cm.update(OFF);
  t.ok(await until(() => cp.pushCount > pushes && accessLogs(cp).length === 0), 'the change is pushed: no access log');
  t.ok(lines.includes(`mesh config updated from ${cm.file}`), 'and said');
  t.equal(lines.filter((l) => l.startsWith('Warning: mesh config')).length, 1, 'the warning was not repeated');

  // The same config in other words: nothing to push.
  const after = cp.pushCount;
  cm.update(`# a comment\n${OFF}`);
  await new Promise((r) => setTimeout(r, 200));
  t.equal(cp.pushCount, after, 'same config: no push');

  cm.update(ON);
  t.ok(await until(() => accessLogs(cp).length === 1), 'back on');

  // h2UpgradePolicy: the web Service's http port is upgraded to HTTP/2 upstream.
  const h2 = (): boolean => JSON.stringify(cp.generatedFor(NODE)?.resources.clusters.find((c: JsonObject) => c.name === 'outbound|80||web.shop.svc.cluster.local') ?? {}).includes('http2_protocol_options');
  t.notOk(h2(), 'DO_NOT_UPGRADE by default');
  cm.update(`${ON}h2UpgradePolicy: UPGRADE\n`);
  t.ok(await until(h2), 'h2UpgradePolicy: UPGRADE is pushed');
});

t.test('a file that appears later is found by polling; one that goes away keeps the last good', async (t) => {
  const dir = path.join(tmp(t, 'mm-mesh-'), 'not-yet');
  const file = path.join(dir, 'mesh');
  const lines: string[] = [];
  const changes: string[] = [];
  const w = new MeshConfigWatcher({ file, print: (l) => lines.push(l), onChange: (c) => changes.push(c.accessLogFile), pollMs: 30 });
  w.start();
  t.teardown(() => w.stop());
  t.same(w.current, DEFAULT_MESH_CONFIG, "Istio's defaults meanwhile");
  t.same(lines, [`Error: mesh config ${file}: cannot read it (ENOENT); using Istio's defaults`]);
  fs.mkdirSync(dir);
  fs.writeFileSync(file, ON);
  t.ok(await until(() => changes.length === 1), 'found');
  t.equal(w.current.accessLogFile, '/dev/stdout');
  fs.rmSync(file);
  t.ok(await until(() => lines.length === 3), 'its absence is reported');
  t.equal(lines[2], `Error: mesh config ${file}: cannot read it (ENOENT); keeping the last good mesh config`);
  t.equal(w.current.accessLogFile, '/dev/stdout', 'the last good serves');
});

t.test('--mesh-config FILE; with --kube the mounted file when it exists', async (t) => {
  const file = path.join(tmp(t, 'mm-mesh-'), 'mesh');
  fs.writeFileSync(file, ON);
  const opts = parseControlPlaneArgs(['--config-dir', '/tmp', '--mesh-config', file]);
  t.equal(opts !== 'help' && opts.meshConfigFile, file);
  t.throws(() => parseControlPlaneArgs(['--config-dir', '/tmp', '--mesh-config', `${file}.missing`]), new ControlPlaneUsageError(`--mesh-config "${file}.missing": no such file`));
  const folderMode = parseControlPlaneArgs(['--config-dir', '/tmp']);
  t.equal(folderMode !== 'help' && folderMode.meshConfigFile, undefined, 'a folder: no mesh config unless given');
  const kube = parseControlPlaneArgs(['--kube']);
  t.equal(kube !== 'help' && kube.meshConfigFile, fs.existsSync('/etc/istio/config/mesh') ? '/etc/istio/config/mesh' : undefined, '--kube: /etc/istio/config/mesh only when it exists');
});
