/**
 * `minimesh analyze` IST0101 for a Gateway server's credentialName: the Secret must exist in
 * the namespace of the gateway pods (where the gateway reads it), not the Gateway's.
 */
import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runAnalyze } from './helpers/run-analyze.js';

t.test('IST0101 names a credentialName with no Secret in the gateway pods namespace', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'minimesh-gwcred-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.writeFileSync(
    path.join(dir, 'in.yaml'),
    `apiVersion: v1
kind: Pod
metadata: { name: ingress-1, namespace: istio-system, labels: { istio: ingressgateway } }
spec: { containers: [{ name: istio-proxy, image: proxy }] }
---
apiVersion: v1
kind: Service
metadata: { name: ingress, namespace: istio-system }
spec: { selector: { istio: ingressgateway }, ports: [{ name: https, port: 443, targetPort: 8443 }] }
---
apiVersion: v1
kind: Secret
metadata: { name: good-cert, namespace: istio-system }
type: kubernetes.io/tls
stringData: { tls.crt: x, tls.key: y }
---
apiVersion: v1
kind: Secret
metadata: { name: elsewhere-cert, namespace: default }
type: kubernetes.io/tls
stringData: { tls.crt: x, tls.key: y }
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: gw, namespace: default }
spec:
  selector: { istio: ingressgateway }
  servers:
  - { port: { number: 443, name: https, protocol: HTTPS }, hosts: [a.example.com], tls: { mode: SIMPLE, credentialName: good-cert } }
  - { port: { number: 443, name: https-b, protocol: HTTPS }, hosts: [b.example.com], tls: { mode: SIMPLE, credentialName: elsewhere-cert } }
`,
  );
  const r = await runAnalyze(['--use-kube=false', 'in.yaml'], { cwd: dir });
  const lines = r.stdout.split('\n').filter((l) => l.includes('IST0101'));
  t.same(lines, ['Error [IST0101] (Gateway default/gw in.yaml:23) Referenced credentialName not found: "elsewhere-cert"'], r.stdout);
});
