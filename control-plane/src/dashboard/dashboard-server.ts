/**
 * The dashboard's HTTP API (Kiali's port, 20001), over a TrafficSource and the mesh model:
 *   GET /api/namespaces                 [{"name": …}] from the model
 *   GET /api/namespaces/graph?…         Kiali's graph JSON (namespaces, graphType, duration,
 *                                       boxBy, injectServiceNodes, queryTime, rateTcp, responseTime)
 *   GET /api/proxies                    every proxy's sync state (as /debug/syncz)
 *   GET /api/stat?…                     `minimesh stat`'s rows
 *   GET /api/targets                    the scrape targets and their last scrape
 *   WS  /api/graph/watch?<graph params> the graph again after every scrape
 * Bad parameters: 400 `{"error": "<param>: …"}`. Prometheus failures: 502 with its error.
 * The page itself comes from the `assets` hook (true when it answered); without it `GET /`
 * answers a plain-text index of the API.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { MeshModel } from '../model/mesh-model.js';
import type { ProxySyncz } from '../server/syncz.js';
import { buildGraph } from '../telemetry/build-graph.js';
import { GraphParamError, parseGraphOptions, type GraphOptions } from '../telemetry/graph-options.js';
import type { TargetHealth } from '../telemetry/scraper.js';
import { computeStat, parseStatParams, StatParamError } from '../telemetry/stat.js';
import type { TrafficSource } from '../telemetry/traffic-query.js';
import { GraphWatch } from './graph-watch.js';
import { modelNamespaces, serviceInventory, workloadInventory } from './mesh-inventory.js';

export interface DashboardServerOptions {
  readonly traffic: TrafficSource;
  readonly model: () => MeshModel;
  readonly syncz: () => ProxySyncz[];
  /** IPs of connected proxies (their pods count as meshed). */
  readonly connectedIps?: () => ReadonlySet<string>;
  readonly targets?: () => TargetHealth[];
  /** "New data" ticks for the watch socket: after every scrape (local store). */
  readonly ticks?: (listener: () => void) => () => void;
  /** Without `ticks`: push every this many ms (Prometheus). Default 5000. */
  readonly pushIntervalMs?: number;
  /** Serves the page and its scripts; returns true when it answered the request. */
  readonly assets?: (req: http.IncomingMessage, res: http.ServerResponse) => boolean;
}

const INDEX = `minimesh dashboard API
  GET /api/namespaces
  GET /api/namespaces/graph?namespaces=NS[,NS]&graphType=workload|app|versionedApp|service&duration=60s&boxBy=namespace&injectServiceNodes=true
  GET /api/proxies
  GET /api/stat?kind=deploy|svc&namespace=NS|allNamespaces=true[&from=deploy/NAME][&to=deploy/NAME|svc/NAME]&window=1m
  GET /api/targets
  WS  /api/graph/watch?<the graph parameters>
`;

function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(`${JSON.stringify(body)}\n`);
}

function timer(ms: number): (listener: () => void) => () => void {
  return (listener) => {
    const t = setInterval(listener, ms);
    t.unref();
    return () => clearInterval(t);
  };
}

export class DashboardServer {
  readonly server: http.Server;
  private readonly watch: GraphWatch;

  constructor(private readonly opts: DashboardServerOptions) {
    this.watch = new GraphWatch({
      parse: (p) => this.parseGraph(p),
      build: (o) => this.buildGraph(o),
      ticks: opts.ticks ?? timer(opts.pushIntervalMs ?? 5000),
    });
    this.server = http.createServer((req, res) => {
      this.handle(req, res).catch((e: Error) => {
        if (!res.headersSent) sendJson(res, 500, { error: e.message });
        else res.destroy();
      });
    });
    this.server.on('upgrade', (req, socket, head) => {
      const url = new URL(req.url ?? '/', 'http://dashboard');
      if (url.pathname === '/api/graph/watch') this.watch.handleUpgrade(req, socket, head, url);
      else socket.destroy();
    });
    this.server.on('clientError', (_e, socket) => socket.destroy());
  }

  async listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', (e) => reject(new Error(`dashboard: cannot listen on ${host}:${port}: ${e.message}`)));
      this.server.listen(port, host, () => resolve((this.server.address() as AddressInfo).port));
    });
  }

  async close(): Promise<void> {
    this.watch.close();
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  get watchers(): number {
    return this.watch.count;
  }

  private parseGraph(p: URLSearchParams): GraphOptions {
    return parseGraphOptions(p, this.opts.traffic.maxWindowSec);
  }

  private buildGraph(o: GraphOptions) {
    const model = this.opts.model();
    const known = modelNamespaces(model);
    // A node outside the request is inaccessible when its namespace is unknown to the model
    // (with an empty model, e.g. Prometheus only, nothing is).
    return buildGraph(this.opts.traffic, o, { accessibleNamespaces: known.length ? new Set(known) : undefined });
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://dashboard');
    if (req.method !== 'GET' && req.method !== 'HEAD') return sendJson(res, 405, { error: `method ${req.method} not allowed` });
    if (url.pathname.startsWith('/api/')) {
      try {
        return await this.api(url, res);
      } catch (e) {
        if (e instanceof GraphParamError || e instanceof StatParamError) return sendJson(res, 400, { error: e.message, param: e.param });
        if (this.opts.traffic.kind === 'prometheus') return sendJson(res, 502, { error: (e as Error).message });
        throw e;
      }
    }
    if (this.opts.assets?.(req, res)) return;
    if (url.pathname === '/') {
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(INDEX);
      return;
    }
    sendJson(res, 404, { error: `not found: ${url.pathname}` });
  }

  private async api(url: URL, res: http.ServerResponse): Promise<void> {
    const p = url.searchParams;
    switch (url.pathname) {
      case '/api/namespaces':
        return sendJson(res, 200, modelNamespaces(this.opts.model()).map((name) => ({ name })));
      case '/api/namespaces/graph':
        return sendJson(res, 200, await this.buildGraph(this.parseGraph(p)));
      case '/api/proxies':
        return sendJson(res, 200, this.opts.syncz());
      case '/api/targets':
        return sendJson(res, 200, this.opts.targets?.() ?? []);
      case '/api/stat': {
        const r = parseStatParams(p, this.opts.traffic.maxWindowSec);
        const model = this.opts.model();
        const ips = this.opts.connectedIps?.() ?? new Set<string>();
        const inventory = r.kind === 'deploy' ? workloadInventory(model, ips) : serviceInventory(model, ips);
        return sendJson(res, 200, await computeStat(this.opts.traffic, r, inventory));
      }
      default:
        return sendJson(res, 404, { error: `not found: ${url.pathname}`, see: '/' });
    }
  }
}
