#!/usr/bin/env node
// `npm run start:security`: the security walkthrough's local mesh (README.md). A control plane on
// this folder's k8s/ YAML (watched: copy a file of policies/ into k8s/ to apply it, remove it to
// undo); the echo pod on 127.0.0.2 (the whoami app on 127.0.0.1:8000 + sidecar, service account
// echo); two callers with their own identities, frontend on 127.0.0.3 and batch on 127.0.0.4 (a
// sidecar each: curl through them with -x). PERMISSIVE mTLS between the sidecars until a
// PeerAuthentication says otherwise. SECURITY_CONFIG_DIR overrides k8s/ (the test uses a copy).
// Ctrl-C stops every process started here.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LocalMesh } from '../local-mesh.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const ns = 'demo';
const echo = { app: 'echo', ip: '127.0.0.2', name: 'echo-local-00001', namespace: ns, serviceAccount: 'echo', labels: { app: 'echo' }, appPorts: [8000], listenPorts: [8000] };
const frontend = { app: 'frontend', ip: '127.0.0.3', name: 'frontend-local-00001', namespace: ns, serviceAccount: 'frontend', labels: { app: 'frontend' } };
const batch = { app: 'batch', ip: '127.0.0.4', name: 'batch-local-00001', namespace: ns, serviceAccount: 'batch', labels: { app: 'batch' } };
const configDir = process.env.SECURITY_CONFIG_DIR ?? path.join(here, 'k8s');

const mesh = new LocalMesh({ name: 'security', configDir });
mesh.handleSignals();
await mesh.requireFreePorts([echo, frontend, batch]);
try {
  await mesh.startControlPlane();
  mesh.startApp(echo, path.join(here, 'apps', 'whoami.js'), { PORT: '8000' });
  await mesh.startSidecar(echo);
  await mesh.startSidecar(frontend);
  await mesh.startSidecar(batch);
  console.log(`
The security walkthrough's mesh is running (examples/security/README.md):
  frontend ${frontend.ip} (spiffe://cluster.local/ns/${ns}/sa/frontend) and batch ${batch.ip} (spiffe://cluster.local/ns/${ns}/sa/batch)
  -> their sidecars :15001 -> echo sidecar ${echo.ip}:8000 (spiffe://cluster.local/ns/${ns}/sa/echo) -> the whoami app 127.0.0.1:8000.
Try:
  curl -s -x ${frontend.ip}:15001 http://echo.${ns}.svc.cluster.local/hello
  curl -s -x ${batch.ip}:15001 http://echo.${ns}.svc.cluster.local/hello
  npx minimesh proxy-config secret ${echo.name}.${ns}
Apply a policy: cp examples/security/policies/strict-mtls.yaml ${path.relative(process.cwd(), configDir) || '.'}/   (remove the file to undo)
Logs of every process: ${mesh.logDir}
`);
} catch (e) {
  console.error(`the local mesh did not start: ${e.message}`);
  await mesh.stop(1);
}
