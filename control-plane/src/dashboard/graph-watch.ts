/**
 * `/api/graph/watch?<graph params>`: a WebSocket that receives `{"type":"graph","graph":…}` on
 * connect and again after every scrape (or every interval, with Prometheus). Invalid parameters
 * close the socket with 1008 (policy violation) and a reason naming the parameter; a failed
 * build sends `{"type":"error","error":…}` and the socket stays open for the next round.
 */
import type http from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { GraphOptions } from '../telemetry/graph-options.js';
import type { KialiGraph } from '../telemetry/graph-json.js';

export interface GraphWatchOptions {
  /** Parses the parameters (throws an Error naming the bad one). `queryTime` is ignored: always now. */
  readonly parse: (params: URLSearchParams) => GraphOptions;
  readonly build: (o: GraphOptions) => Promise<KialiGraph>;
  /** Subscribes to "new data" ticks; returns the unsubscribe function. */
  readonly ticks: (listener: () => void) => () => void;
}

interface Watcher {
  readonly ws: WebSocket;
  readonly params: URLSearchParams;
  busy: boolean;
}

export class GraphWatch {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  private readonly watchers = new Set<Watcher>();
  private readonly unsubscribe: () => void;

  constructor(private readonly opts: GraphWatchOptions) {
    this.unsubscribe = opts.ticks(() => {
      for (const w of this.watchers) void this.push(w);
    });
  }

  get count(): number {
    return this.watchers.size;
  }

  handleUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer, url: URL): void {
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      const params = new URLSearchParams(url.searchParams);
      params.delete('queryTime');
      try {
        this.opts.parse(params);
      } catch (e) {
        ws.close(1008, truncateUtf8((e as Error).message, 123));
        return;
      }
      const w: Watcher = { ws, params, busy: false };
      this.watchers.add(w);
      ws.on('close', () => this.watchers.delete(w));
      ws.on('error', () => this.watchers.delete(w));
      ws.on('message', () => undefined); // nothing to say to us
      void this.push(w);
    });
  }

  private async push(w: Watcher): Promise<void> {
    if (w.busy || w.ws.readyState !== w.ws.OPEN) return;
    w.busy = true;
    try {
      const graph = await this.opts.build(this.opts.parse(w.params));
      if (w.ws.readyState === w.ws.OPEN) w.ws.send(JSON.stringify({ type: 'graph', graph }));
    } catch (e) {
      if (w.ws.readyState === w.ws.OPEN) w.ws.send(JSON.stringify({ type: 'error', error: (e as Error).message }));
    } finally {
      w.busy = false;
    }
  }

  close(): void {
    this.unsubscribe();
    for (const w of this.watchers) w.ws.terminate();
    this.watchers.clear();
    this.wss.close();
  }
}

/** A close reason fits in 123 bytes. */
function truncateUtf8(s: string, max: number): string {
  let out = s;
  while (Buffer.byteLength(out) > max) out = out.slice(0, -1);
  return out;
}
