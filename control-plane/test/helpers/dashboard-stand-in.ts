/**
 * A stand-in for the dashboard server on a free port, for the page and CLI tests: the real
 * assets handler, /api/namespaces, /api/proxies and the /api/graph/watch WebSocket, with a
 * fixture graph shaped like the echo lab (client-deployment -> echo-service -> echo-deployment).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { createDashboardAssets } from '../../src/dashboard/dashboard-assets.js';

const CLUSTER = 'Kubernetes';
export const IDS = {
  box: `${CLUSTER}_client_box`,
  client: `wl_${CLUSTER}_client_client-deployment`,
  service: `svc_${CLUSTER}_client_echo-service`,
  echo: `wl_${CLUSTER}_client_echo-deployment`,
} as const;

/** Kiali's graph JSON for the echo lab; `rate` and `rate5xx` as Kiali's strings. */
export function echoGraph(rate: string, rate5xx?: string): unknown {
  const r = parseFloat(rate);
  const e = rate5xx ? parseFloat(rate5xx) : 0;
  const pctErr = r > 0 ? ((e / r) * 100).toFixed(1) : '0.0';
  const ok = r > 0 ? (((r - e) / r) * 100).toFixed(1) : '0.0';
  const responses: Record<string, unknown> = { '200': { flags: { '-': ok }, hosts: { 'echo-service.client.svc.cluster.local': ok } } };
  if (e > 0) responses['503'] = { flags: { '-': pctErr }, hosts: { 'echo-service.client.svc.cluster.local': pctErr } };
  const traffic = { protocol: 'http', rates: { http: rate, httpPercentErr: pctErr, ...(e > 0 ? { http5xx: rate5xx } : {}) }, responses };
  const base = { cluster: CLUSTER, namespace: 'client', parent: IDS.box };
  return {
    timestamp: Math.floor(Date.now() / 1000),
    duration: 60,
    graphType: 'workload',
    elements: {
      nodes: [
        { data: { id: IDS.box, nodeType: 'box', cluster: CLUSTER, namespace: 'client', isBox: 'namespace' } },
        { data: { ...base, id: IDS.client, nodeType: 'workload', workload: 'client-deployment', app: 'client', version: 'v1', isRoot: true, traffic: [{ protocol: 'http', rates: { httpOut: rate } }] } },
        { data: { ...base, id: IDS.service, nodeType: 'service', service: 'echo-service', app: 'echo', traffic: [{ protocol: 'http', rates: { httpIn: rate, httpOut: rate } }] } },
        { data: { ...base, id: IDS.echo, nodeType: 'workload', workload: 'echo-deployment', app: 'echo', version: 'v1', traffic: [{ protocol: 'http', rates: { httpIn: rate } }] } },
      ],
      edges: [
        { data: { id: 'e_client_svc', source: IDS.client, target: IDS.service, traffic, responseTime: '3', isMTLS: '100' } },
        { data: { id: 'e_svc_echo', source: IDS.service, target: IDS.echo, traffic, responseTime: '3', isMTLS: '100' } },
      ],
    },
  };
}

export const PROXIES = [
  {
    proxy: 'sidecar~10.244.0.7~client-deployment-6d4b9c-x2k4p.client~client.svc.cluster.local',
    name: 'client-deployment-6d4b9c-x2k4p.client',
    cluster: CLUSTER,
    version: '0.1.0',
    connected_at: '2026-01-01T00:00:00Z',
    types: { CDS: { state: 'SYNCED' }, LDS: { state: 'SYNCED' }, EDS: { state: 'SYNCED' }, RDS: { state: 'SYNCED' } },
  },
  {
    proxy: 'sidecar~10.244.0.8~echo-deployment-7f9c-abcde.client~client.svc.cluster.local',
    name: 'echo-deployment-7f9c-abcde.client',
    cluster: CLUSTER,
    version: '0.1.0',
    connected_at: '2026-01-01T00:00:00Z',
    types: { CDS: { state: 'SYNCED' }, LDS: { state: 'SYNCED' }, EDS: { state: 'SYNCED' }, RDS: { state: 'STALE' } },
  },
];

export interface StandIn {
  readonly url: string;
  readonly port: number;
  /** Every request the server saw, as "METHOD /path?query". */
  readonly requests: string[];
  /** The watch URLs of every WebSocket that connected. */
  readonly watches: string[];
  /** Sends a graph to every connected page (and to pages that connect later). */
  push(graph: unknown): void;
  /** Drops every WebSocket (the page should reconnect). */
  dropSockets(): void;
  close(): Promise<void>;
}

export async function startStandIn(initial: unknown): Promise<StandIn> {
  const assets = createDashboardAssets();
  const requests: string[] = [];
  const watches: string[] = [];
  let current = initial;
  const server = http.createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    if (assets(req, res)) return;
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const json = (body: unknown) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (path === '/api/namespaces') return json([{ name: 'client' }, { name: 'istio-system' }]);
    if (path === '/api/proxies') return json(PROXIES);
    if (path === '/api/namespaces/graph') return json(current);
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found\n');
  });
  const wss = new WebSocketServer({ noServer: true });
  const sockets = new Set<WebSocket>();
  server.on('upgrade', (req, socket, head) => {
    if (!req.url?.startsWith('/api/graph/watch')) return socket.destroy();
    watches.push(req.url);
    wss.handleUpgrade(req, socket, head, (ws) => {
      sockets.add(ws);
      ws.on('close', () => sockets.delete(ws));
      ws.send(JSON.stringify({ type: 'graph', graph: current }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/`,
    port,
    requests,
    watches,
    push(graph) {
      current = graph;
      for (const ws of sockets) ws.send(JSON.stringify({ type: 'graph', graph }));
    },
    dropSockets() {
      for (const ws of sockets) ws.terminate();
    },
    async close() {
      for (const ws of sockets) ws.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
