// The soak's client app: an open-loop, constant-rate HTTP/1.1 load over keep-alive connections
// through a sidecar's forward-proxy listener (absolute-form request line, as an HTTP_PROXY client
// sends it). Its own process:
//
//   node bench/dist/src/soak-load.js --port N --target http://HOST/PATH [--host 127.0.0.1]
//        [--rate 2000] [--connections 32] [--duration 600]
//
// Request k is due at t0 + k/rate on connection k % connections (each with at most one in
// flight; a busy connection queues its due requests, so a stall is not hidden by sending less);
// due requests are sent from a 1-ms timer.
// Every second it prints one JSON line (SoakLoadSecond) with that second's completions by
// status class and the wall-clock time of each non-2xx response and connection error, so the
// soak can tell the failures inside its restart window from those outside. First line:
// {"start": wall-clock ms of the first due request}; last line: SoakLoadDone.
import { connect, type Socket } from 'node:net';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface SoakLoadSecond {
  /** wall clock (ms) at the end of this second */
  at: number;
  ok: number;
  non2xx: number;
  errors: number;
  /** requests due but not yet written (all connections busy) at the end of the second */
  queued: number;
  /** each non-2xx response and error: wall-clock ms and status (0: connection error) */
  bad: { at: number; status: number }[];
  /** slowest completion this second (ms, from its due time) */
  maxMs: number;
}

export interface SoakLoadDone {
  done: true;
  scheduled: number;
  completed: number;
  incomplete: number;
  reconnects: number;
}

interface Opts {
  host: string;
  port: number;
  target: URL;
  rate: number;
  connections: number;
  durationS: number;
}

function parseOpts(argv: string[]): Opts {
  const get = (name: string, dflt: string): string => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1] : dflt;
  };
  const o: Opts = {
    host: get('host', '127.0.0.1'),
    port: Number(get('port', 'NaN')),
    target: new URL(get('target', 'http://localhost/')),
    rate: Number(get('rate', '2000')),
    connections: Number(get('connections', '32')),
    durationS: Number(get('duration', '600')),
  };
  if (!Number.isInteger(o.port) || o.port <= 0) throw new Error('--port is required');
  if (!(o.rate > 0 && o.connections > 0 && o.durationS > 0)) throw new Error('bad --rate/--connections/--duration');
  return o;
}

const nowMs = (): number => performance.now();

class Window {
  ok = 0;
  non2xx = 0;
  errors = 0;
  maxMs = 0;
  bad: { at: number; status: number }[] = [];
}

class Conn {
  private socket: Socket | null = null;
  private buf: Buffer = Buffer.alloc(0);
  private inflight: number | null = null;
  readonly queue: number[] = [];
  stopping = false;

  constructor(private readonly load: Load) {}

  open(): void {
    const s = connect({ host: this.load.opts.host, port: this.load.opts.port, noDelay: true });
    this.socket = s;
    this.buf = Buffer.alloc(0);
    s.on('connect', () => this.next());
    s.on('data', (c: Buffer) => this.onData(c));
    s.on('error', () => {});
    s.on('close', () => {
      this.socket = null;
      if (this.inflight !== null) {
        this.inflight = null;
        this.load.done(0, 0);
      }
      if (this.stopping) return;
      this.load.reconnects++;
      setTimeout(() => this.open(), 10);
    });
  }

  busy(): boolean {
    return this.outstanding() > 0;
  }

  /** requests queued or in flight */
  outstanding(): number {
    return this.queue.length + (this.inflight === null ? 0 : 1);
  }

  enqueue(due: number): void {
    this.queue.push(due);
    if (this.inflight === null) this.next();
  }

  close(): void {
    this.stopping = true;
    this.socket?.destroy();
  }

  private next(): void {
    if (this.inflight !== null || this.socket === null || this.socket.connecting) return;
    const due = this.queue.shift();
    if (due === undefined) return;
    this.inflight = due;
    this.socket.write(this.load.request);
  }

  /** Responses are parsed by Content-Length (the upstream and the proxy's own replies carry one). */
  private onData(chunk: Buffer): void {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    for (;;) {
      const end = this.buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = this.buf.toString('latin1', 0, end);
      const m = /\r\ncontent-length:\s*(\d+)/i.exec(head);
      if (m === null) {
        this.socket?.destroy(); // not a framing this client reads: count it as an error
        return;
      }
      const total = end + 4 + Number(m[1]);
      if (this.buf.length < total) return;
      this.buf = this.buf.subarray(total);
      const status = Number.parseInt(head.slice(9, 12), 10);
      const due = this.inflight;
      this.inflight = null;
      if (due !== null) this.load.done(status, due);
      if (/\r\nconnection:\s*close/i.test(head)) {
        this.socket?.end();
        return;
      }
      this.next();
    }
  }
}

class Load {
  readonly request: Buffer;
  reconnects = 0;
  completed = 0;
  window = new Window();

  constructor(readonly opts: Opts) {
    const t = opts.target;
    this.request = Buffer.from(`GET ${t.href} HTTP/1.1\r\nHost: ${t.host}\r\nUser-Agent: minimesh-soak\r\n\r\n`, 'latin1');
  }

  /** status 0: the connection closed with the request in flight */
  done(status: number, due: number): void {
    const w = this.window;
    if (status >= 200 && status < 300) {
      w.ok++;
      this.completed++;
    } else {
      if (status === 0) w.errors++;
      else {
        w.non2xx++;
        this.completed++;
      }
      if (w.bad.length < 5000) w.bad.push({ at: Date.now(), status });
    }
    if (due > 0) w.maxMs = Math.max(w.maxMs, nowMs() - due);
  }
}

async function run(opts: Opts): Promise<void> {
  const load = new Load(opts);
  const conns = Array.from({ length: opts.connections }, () => new Conn(load));
  for (const c of conns) c.open();
  const interval = 1000 / opts.rate;
  const total = Math.round(opts.rate * opts.durationS);
  const t0 = nowMs() + 5;
  process.stdout.write(`${JSON.stringify({ start: Date.now() + 5 })}\n`);
  let next = 0;
  const emit = (): void => {
    const w = load.window;
    load.window = new Window();
    const queued = conns.reduce((n, c) => n + c.queue.length, 0);
    const line: SoakLoadSecond = { at: Date.now(), ok: w.ok, non2xx: w.non2xx, errors: w.errors, queued, bad: w.bad, maxMs: Math.round(w.maxMs * 10) / 10 };
    process.stdout.write(`${JSON.stringify(line)}\n`);
  };
  const ticker = setInterval(emit, 1000);
  await new Promise<void>((finish) => {
    const tick = (): void => {
      const t = nowMs();
      while (next < total && t0 + next * interval <= t) {
        conns[next % conns.length].enqueue(t0 + next * interval);
        next++;
      }
      if (next >= total) return finish();
      // a timer, never a spin through setImmediate: the soak shares the CPUs with the proxies it
      // measures, so requests go out in ~1-ms batches (2 at 2,000/s), each on its due time's connection
      const wait = t0 + next * interval - nowMs();
      setTimeout(tick, Math.max(1, Math.floor(wait)));
    };
    tick();
  });
  const drainUntil = nowMs() + 5000;
  while (conns.some((c) => c.busy()) && nowMs() < drainUntil) await new Promise((r) => setTimeout(r, 10));
  clearInterval(ticker);
  emit();
  const incomplete = conns.reduce((n, c) => n + c.outstanding(), 0);
  for (const c of conns) c.close();
  const done: SoakLoadDone = { done: true, scheduled: total, completed: load.completed, incomplete, reconnects: load.reconnects };
  process.stdout.write(`${JSON.stringify(done)}\n`);
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  run(parseOpts(process.argv.slice(2))).catch((err: unknown) => {
    process.stderr.write(`soak-load: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
