/**
 * The control plane learns a proxy's locality from its stream (`node.locality`) and orders that
 * proxy's endpoints by it; a proxy that sends none gets its pod's locality (its Node's labels).
 */
import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ProxySyncStatus } from '@minimesh/xds';
import { ControlPlane } from '../src/server/control-plane.js';

const SLEEP = 'sidecar~10.0.0.2~sleep.default~default.svc.cluster.local';
const CLUSTER = 'outbound|9080||reviews.default.svc.cluster.local';
const node = (name: string, zone: string): string => `apiVersion: v1
kind: Node
metadata: { name: ${name}, labels: { topology.kubernetes.io/region: r1, topology.kubernetes.io/zone: ${zone} } }
---
`;
const pod = (name: string, ip: string, nodeName: string, app: string): string => `apiVersion: v1
kind: Pod
metadata: { name: ${name}, namespace: default, labels: { app: ${app} } }
spec: { nodeName: ${nodeName}, containers: [{ name: app, ports: [{ containerPort: 9080 }] }] }
status: { podIP: ${ip}, phase: Running }
---
`;
const YAML =
  node('n-a', 'z-a') +
  node('n-b', 'z-b') +
  pod('sleep', '10.0.0.2', 'n-a', 'sleep') +
  pod('reviews-a', '10.0.0.11', 'n-a', 'reviews') +
  pod('reviews-b', '10.0.0.12', 'n-b', 'reviews') +
  `apiVersion: v1
kind: Service
metadata: { name: reviews, namespace: default }
spec: { selector: { app: reviews }, ports: [{ name: http, port: 9080 }] }
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: reviews, namespace: default }
spec: { host: reviews, trafficPolicy: { outlierDetection: { consecutive5xxErrors: 1 } } }
`;

async function until(cond: () => boolean, ms = 3000): Promise<boolean> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
  return cond();
}

type Cla = { cluster_name: string; endpoints: { locality: { zone?: string }; priority?: number }[] };

t.test("a proxy's node.locality, else its pod's, orders its endpoints", async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mm-loc-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.writeFileSync(path.join(dir, 'all.yaml'), YAML);
  const cp = new ControlPlane({ source: { kind: 'folder', dir }, xdsAddress: { host: '127.0.0.1', port: 0 }, debugAddress: { host: '127.0.0.1', port: 0 }, debounce: { quietMs: 5, maxMs: 20 }, print: () => {} });
  await cp.start();
  t.teardown(() => cp.stop());
  const priorities = (id: string): Record<string, number> | undefined => {
    const cla = (cp.generatedFor(id)?.resources.endpoints as Cla[] | undefined)?.find((e) => e.cluster_name === CLUSTER);
    return cla && Object.fromEntries(cla.endpoints.map((g) => [g.locality.zone ?? '', g.priority ?? 0]));
  };
  cp.xds.emit('connect', { nodeId: SLEEP, cluster: 'sleep.default', metadata: {} } as unknown as ProxySyncStatus);
  t.ok(await until(() => priorities(SLEEP) !== undefined));
  t.same(priorities(SLEEP), { 'z-a': 0, 'z-b': 1 }, 'no node.locality: the pod runs on n-a (z-a)');
  const other = 'sidecar~10.0.0.3~sleep2.default~default.svc.cluster.local';
  cp.xds.emit('connect', { nodeId: other, cluster: 'sleep2.default', metadata: {}, locality: { region: 'r1', zone: 'z-b', sub_zone: '' } } as unknown as ProxySyncStatus);
  t.ok(await until(() => priorities(other) !== undefined));
  t.same(priorities(other), { 'z-a': 1, 'z-b': 0 }, 'node.locality z-b');
});
