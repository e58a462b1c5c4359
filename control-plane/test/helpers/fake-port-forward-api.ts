/**
 * A fake Kubernetes API server for the commands that port-forward (dashboard, proxy-status,
 * proxy-config, stat): pods by namespace (listed by label selector, read by name) and
 * port-forwards (the v4.channel.k8s.io WebSocket protocol) from a pod's port to
 * `forward[port]` on 127.0.0.1, one TCP connection per stream, as the kubelet does. Writes a
 * kubeconfig for it (contexts `lab` and `other`, the current one, namespace `shop`).
 */
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { WebSocketServer } from 'ws';

export interface FakePod {
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly phase?: string;
  readonly ready?: boolean;
}

export async function fakeApi(t: { teardown(fn: () => unknown): void }, pods: Record<string, FakePod[]>, forward: Record<number, number>) {
  const seen: string[] = [];
  const podOf = (ns: string, name: string) => pods[ns]?.find((p) => p.name === name);
  const json = (res: http.ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const asItem = (p: FakePod) => ({ metadata: { name: p.name, labels: p.labels }, status: { phase: p.phase ?? 'Running', conditions: [{ type: 'Ready', status: p.ready === false ? 'False' : 'True' }] } });
  const server = http.createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    const u = new URL(req.url ?? '/', 'http://x');
    const list = /^\/api\/v1\/namespaces\/([^/]+)\/pods$/.exec(u.pathname);
    if (list) {
      const sel = Object.fromEntries((u.searchParams.get('labelSelector') ?? '').split(',').filter(Boolean).map((kv) => kv.split('=') as [string, string]));
      const items = (pods[list[1]!] ?? []).filter((p) => Object.entries(sel).every(([k, v]) => p.labels[k] === v)).map(asItem);
      return json(res, 200, { kind: 'PodList', items });
    }
    const one = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)$/.exec(u.pathname);
    const p = one && podOf(one[1]!, one[2]!);
    if (p) return json(res, 200, { kind: 'Pod', ...asItem(p) });
    json(res, 404, { kind: 'Status', code: 404 });
  });
  const wss = new WebSocketServer({ noServer: true });
  server.on('upgrade', (req, socket, head) => {
    seen.push(`WS ${req.url}`);
    const m = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/portforward\?ports=(\d+)$/.exec(req.url ?? '');
    const target = m && podOf(m[1]!, m[2]!) ? forward[Number(m[3])] : undefined;
    if (target === undefined) return socket.destroy();
    wss.handleUpgrade(req, socket, head, (ws) => {
      const port = Buffer.from([Number(m![3]) & 0xff, Number(m![3]) >> 8]);
      ws.send(Buffer.concat([Buffer.from([0]), port]));
      ws.send(Buffer.concat([Buffer.from([1]), port]));
      const conn = net.connect(target, '127.0.0.1');
      conn.on('data', (d) => ws.send(Buffer.concat([Buffer.from([0]), d])));
      conn.on('close', () => ws.close());
      conn.on('error', () => ws.close());
      ws.on('message', (msg: Buffer) => {
        if (msg[0] === 0 && msg.length > 1) conn.write(msg.subarray(1));
      });
      ws.on('close', () => conn.destroy());
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => {
    for (const c of wss.clients) c.terminate();
    server.closeAllConnections();
    return new Promise<void>((r) => server.close(() => r()));
  });
  const port = (server.address() as net.AddressInfo).port;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mm-kubeconfig-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const kubeconfig = path.join(dir, 'config');
  fs.writeFileSync(
    kubeconfig,
    `apiVersion: v1
kind: Config
clusters: [{ name: fake, cluster: { server: "http://127.0.0.1:${port}", insecure-skip-tls-verify: true } }]
users: [{ name: me, user: { token: abc } }]
contexts: [{ name: lab, context: { cluster: fake, user: me } }, { name: other, context: { cluster: fake, user: me, namespace: shop } }]
current-context: other
`,
  );
  return { seen, kubeconfig };
}

