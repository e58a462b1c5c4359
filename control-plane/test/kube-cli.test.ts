/**
 * `minimesh control-plane --kube` as the install manifests run it (every address flag, the
 * pod's environment), as a process against the fake API server through KUBECONFIG. The
 * ports are 0 here (other tests run at once); the flags are the manifests' own.
 */
import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { FakeApiServer } from '@minimesh/kube-fake';
import { until } from './helpers/kube-fake-setup.js';

const MINIMESH = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../packages/cli/bin/minimesh.js');

t.test('the manifests\' command line starts, creates the CA and says where it serves', async (t) => {
  const api = new FakeApiServer();
  await api.start();
  t.teardown(() => api.stop());
  for (const ns of ['istio-system', 'default']) api.write('ADDED', 'Namespace', { metadata: { name: ns } });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mm-cp-kube-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.writeFileSync(path.join(dir, 'kubeconfig'), api.kubeconfig());
  const args = ['control-plane', '--kube', '--capture', '--xds-address', '127.0.0.1:0', '--secure-xds-address', '127.0.0.1:0', '--webhook-address', '127.0.0.1:0', '--debug-address', '127.0.0.1:0', '--ready-address', '127.0.0.1:0', '--dashboard-address', '127.0.0.1:0', '--proxy-image', 'minimesh:0.1.0'];
  const env = { ...process.env, KUBECONFIG: path.join(dir, 'kubeconfig'), KUBERNETES_SERVICE_HOST: '', POD_NAME: 'istiod-0', POD_NAMESPACE: 'istio-system', REVISION: 'default', CLUSTER_ID: 'Kubernetes', PILOT_CERT_PROVIDER: 'istiod' };
  const child = spawn(process.execPath, [MINIMESH, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (c) => (stderr += c));
  t.teardown(() => void child.kill('SIGTERM'));
  t.ok(await until(() => /control plane ready:/.test(stderr), 30_000), 'ready');
  t.match(stderr, /control plane ready: xds 127\.0\.0\.1:\d+, secure xds 127\.0\.0\.1:\d+, webhooks https:\/\/127\.0\.0\.1:\d+, ready http:\/\/127\.0\.0\.1:\d+\/ready, debug http:\/\/127\.0\.0\.1:\d+/);
  t.match(stderr, /created the CA from Secret istio-system\/istio-ca-secret/);
  t.ok(api.get('Secret', 'istio-system', 'istio-ca-secret'), 'the Secret is there');
  t.ok(await until(() => api.get('ConfigMap', 'default', 'istio-ca-root-cert') !== undefined), 'the root is published');
  const exit = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  child.kill('SIGTERM');
  t.equal(await exit, 0, 'SIGTERM stops it cleanly');
});

t.test('without --kube the TLS ports need --tls-dir: a usage error, exit 2', async (t) => {
  const child = spawn(process.execPath, [MINIMESH, 'control-plane', '--config-dir', '.', '--webhook-address', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (c) => (stderr += c));
  const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  t.equal(code, 2);
  t.match(stderr, /^minimesh control-plane: --webhook-address needs --tls-dir DIR \(tls\.crt, tls\.key\) without --kube/);
});
