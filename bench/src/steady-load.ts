// Steady, open-loop load generator (its own process, pinned to the load CPU).
//
//   node bench/dist/src/steady-load.js --port N [--host 127.0.0.1] [--rate 2000]
//        [--connections 10] [--duration 10] [--warmup 1] [--path /]
//
// Request k is scheduled at t0 + k/rate and assigned to connection k % connections.
// Each keep-alive connection (a raw net.Socket writing one fixed GET) has at most one
// request in flight; a request whose connection is still busy waits in that
// connection's queue. Latency is measured from the request's *scheduled* time, not
// from when it could be written, so a stall delays — and is charged to — every
// request scheduled during it (coordinated omission corrected). Latencies go to an
// HDR histogram in microseconds. The first --warmup seconds run at the same rate but
// are not recorded (they would measure this generator's own JIT warm-up).
// Prints one JSON object (SteadyLoadResult) on stdout.
import { connect, type Socket } from 'node:net';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as hdr from 'hdr-histogram-js';

export interface SteadyLoadResult {
  rate: number;
  connections: number;
  durationS: number;
  warmupS: number;
  /** requests scheduled in the measured window */
  scheduled: number;
  /** completed requests scheduled in the measured window */
  completed: number;
  /** completed requests including the warm-up (what the processes under test served) */
  completedTotal: number;
  non2xx: number;
  errors: number;
  incomplete: number;
  reconnects: number;
  /** completed responses per second over the load window */
  achievedRps: number;
  latencyMs: { p50: number; p90: number; p99: number; p999: number; max: number; mean: number };
  /** how late the generator itself wrote requests vs schedule (queueing excluded) */
  sendLagMs: { p50: number; p99: number; max: number };
}

export interface SteadyLoadOptions {
  host: string;
  port: number;
  rate: number;
  connections: number;
  durationS: number;
  warmupS: number;
  path: string;
}

function parseOpts(argv: string[]): SteadyLoadOptions {
  const get = (name: string, dflt: string): string => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1] : dflt;
  };
  const o: SteadyLoadOptions = {
    host: get('host', '127.0.0.1'),
    port: Number(get('port', 'NaN')),
    rate: Number(get('rate', '2000')),
    connections: Number(get('connections', '10')),
    durationS: Number(get('duration', '10')),
    warmupS: Number(get('warmup', '1')),
    path: get('path', '/'),
  };
  if (!Number.isInteger(o.port) || o.port <= 0) throw new Error('--port is required');
  if (!(o.rate > 0 && o.connections > 0 && o.durationS > 0 && o.warmupS >= 0)) throw new Error('bad --rate/--connections/--duration/--warmup');
  return o;
}

const now = (): number => Number(process.hrtime.bigint()); // ns; fits a double exactly for ~104 days

type ParseState = 'head' | 'body' | 'chunk-size' | 'chunk-data' | 'trailers';

class Connection {
  private socket!: Socket;
  private buf: Buffer = Buffer.alloc(0);
  private state: ParseState = 'head';
  private remaining = 0;
  private status = 0;
  private closeAfter = false;
  /** scheduled times (ns) of requests due but not yet written */
  readonly queue: number[] = [];
  /** scheduled time of the request in flight, or null */
  inflight: number | null = null;
  private connected = false;

  constructor(
    private readonly opts: SteadyLoadOptions,
    private readonly request: Buffer,
    private readonly stats: Stats,
  ) {}

  open(): Promise<void> {
    return new Promise((resolveOpen, reject) => {
      const s = connect({ host: this.opts.host, port: this.opts.port, noDelay: true });
      this.socket = s;
      this.buf = Buffer.alloc(0);
      this.state = 'head';
      s.once('connect', () => {
        this.connected = true;
        resolveOpen();
        this.flush();
      });
      s.on('data', (chunk: Buffer) => this.onData(chunk));
      s.on('error', (err) => {
        if (!this.connected) reject(err);
      });
      s.on('close', () => this.onClose());
    });
  }

  enqueue(scheduledNs: number): void {
    this.queue.push(scheduledNs);
    if (this.inflight === null && this.connected) this.flush(true);
  }

  idle(): boolean {
    return this.inflight === null && this.queue.length === 0;
  }

  destroy(): void {
    this.connected = false;
    this.socket.removeAllListeners('close');
    this.socket.destroy();
  }

  private flush(onSchedule = false): void {
    const next = this.queue.shift();
    if (next === undefined) return;
    this.inflight = next;
    if (onSchedule && next >= this.stats.recordFrom) this.stats.sendLag.recordValue(Math.max(1, Math.round((now() - next) / 1000)));
    this.socket.write(this.request);
  }

  private onClose(): void {
    const wasInflight = this.inflight !== null;
    this.connected = false;
    if (wasInflight) {
      this.stats.errors++;
      this.inflight = null;
    }
    if (this.stats.stopping) return;
    this.stats.reconnects++;
    this.open().catch(() => {
      this.stats.errors++;
    });
  }

  private onData(chunk: Buffer): void {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    while (this.step()) {
      /* parse as many responses as are complete */
    }
  }

  /** advance the response parser by one step; false when more bytes are needed */
  private step(): boolean {
    switch (this.state) {
      case 'head': {
        const end = this.buf.indexOf('\r\n\r\n');
        if (end < 0) return false;
        const head = this.buf.toString('latin1', 0, end);
        this.buf = this.buf.subarray(end + 4);
        this.status = Number.parseInt(head.slice(9, 12), 10);
        let length = 0;
        let chunked = false;
        this.closeAfter = false;
        for (const line of head.split('\r\n').slice(1)) {
          const colon = line.indexOf(':');
          const name = line.slice(0, colon).trim().toLowerCase();
          const value = line.slice(colon + 1).trim().toLowerCase();
          if (name === 'content-length') length = Number.parseInt(value, 10);
          else if (name === 'transfer-encoding') chunked = value.includes('chunked');
          else if (name === 'connection') this.closeAfter = value.includes('close');
        }
        if (this.status >= 100 && this.status < 200) return true; // interim response
        if (chunked) this.state = 'chunk-size';
        else {
          this.remaining = length;
          this.state = 'body';
        }
        return true;
      }
      case 'body':
        if (this.buf.length < this.remaining) return false;
        this.buf = this.buf.subarray(this.remaining);
        this.complete();
        return true;
      case 'chunk-size': {
        const eol = this.buf.indexOf('\r\n');
        if (eol < 0) return false;
        const size = Number.parseInt(this.buf.toString('latin1', 0, eol), 16);
        this.buf = this.buf.subarray(eol + 2);
        if (size === 0) this.state = 'trailers';
        else {
          this.remaining = size + 2;
          this.state = 'chunk-data';
        }
        return true;
      }
      case 'chunk-data':
        if (this.buf.length < this.remaining) return false;
        this.buf = this.buf.subarray(this.remaining);
        this.state = 'chunk-size';
        return true;
      case 'trailers': {
        const eol = this.buf.indexOf('\r\n');
        if (eol < 0) return false;
        this.buf = this.buf.subarray(eol + 2);
        if (eol === 0) this.complete();
        return true;
      }
    }
  }

  private complete(): void {
    this.state = 'head';
    const scheduled = this.inflight;
    this.inflight = null;
    if (scheduled !== null) {
      const t = now();
      this.stats.completedTotal++;
      if (scheduled < this.stats.recordFrom) {
        if (this.closeAfter) return;
        this.flush();
        return;
      }
      this.stats.latency.recordValue(Math.max(1, Math.round((t - scheduled) / 1000)));
      this.stats.completed++;
      this.stats.lastCompletion = t;
      if (this.status < 200 || this.status >= 300) this.stats.non2xx++;
    }
    if (this.closeAfter) return; // the close handler reconnects
    this.flush();
  }
}

interface Stats {
  latency: hdr.Histogram;
  sendLag: hdr.Histogram;
  completed: number;
  completedTotal: number;
  non2xx: number;
  errors: number;
  reconnects: number;
  lastCompletion: number;
  /** requests scheduled before this time (ns) are warm-up: not recorded */
  recordFrom: number;
  stopping: boolean;
}

export async function runSteadyLoad(opts: SteadyLoadOptions): Promise<SteadyLoadResult> {
  const histogram = (): hdr.Histogram =>
    hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 3 });
  const stats: Stats = {
    latency: histogram(),
    sendLag: histogram(),
    completed: 0,
    completedTotal: 0,
    non2xx: 0,
    errors: 0,
    reconnects: 0,
    lastCompletion: 0,
    recordFrom: Number.POSITIVE_INFINITY,
    stopping: false,
  };
  const request = Buffer.from(`GET ${opts.path} HTTP/1.1\r\nHost: ${opts.host}:${opts.port}\r\nUser-Agent: minimesh-steady-load\r\n\r\n`, 'latin1');
  const conns = Array.from({ length: opts.connections }, () => new Connection(opts, request, stats));
  await Promise.all(conns.map((c) => c.open()));

  const intervalNs = 1e9 / opts.rate;
  const warmupCount = Math.round(opts.rate * opts.warmupS);
  const total = warmupCount + Math.round(opts.rate * opts.durationS);
  const tw = now() + 5e6; // start 5 ms from now
  const t0 = tw + warmupCount * intervalNs; // the measured window starts here
  stats.recordFrom = t0;
  let next = 0;

  await new Promise<void>((done) => {
    const tick = (): void => {
      const t = now();
      while (next < total && tw + next * intervalNs <= t) {
        conns[next % conns.length].enqueue(tw + next * intervalNs);
        next++;
      }
      if (next >= total) {
        done();
        return;
      }
      const waitNs = tw + next * intervalNs - now();
      // sleep on a timer when the next send is far; spin through the event loop
      // (setImmediate still polls I/O) when it is close, for sub-millisecond accuracy
      if (waitNs > 2e6) setTimeout(tick, Math.floor(waitNs / 1e6) - 1);
      else setImmediate(tick);
    };
    tick();
  });

  // let the requests still queued or in flight finish (they count, late)
  const drainDeadline = now() + Math.max(2e9, opts.durationS * 1e8);
  while (!conns.every((c) => c.idle()) && now() < drainDeadline) await new Promise((r) => setTimeout(r, 5));
  stats.stopping = true;
  const incomplete = conns.reduce((n, c) => n + c.queue.length + (c.inflight === null ? 0 : 1), 0);
  for (const c of conns) c.destroy();

  const windowS = Math.max(opts.durationS, (stats.lastCompletion - t0) / 1e9);
  const ms = (us: number): number => us / 1000;
  const L = stats.latency;
  return {
    rate: opts.rate,
    connections: opts.connections,
    durationS: opts.durationS,
    warmupS: opts.warmupS,
    scheduled: total - warmupCount,
    completed: stats.completed,
    completedTotal: stats.completedTotal,
    non2xx: stats.non2xx,
    errors: stats.errors,
    incomplete,
    reconnects: stats.reconnects,
    achievedRps: stats.completed / windowS,
    latencyMs: {
      p50: ms(L.getValueAtPercentile(50)),
      p90: ms(L.getValueAtPercentile(90)),
      p99: ms(L.getValueAtPercentile(99)),
      p999: ms(L.getValueAtPercentile(99.9)),
      max: ms(L.maxValue),
      mean: ms(L.mean),
    },
    sendLagMs: {
      p50: ms(stats.sendLag.getValueAtPercentile(50)),
      p99: ms(stats.sendLag.getValueAtPercentile(99)),
      max: ms(stats.sendLag.maxValue),
    },
  };
}

async function main(): Promise<void> {
  const result = await runSteadyLoad(parseOpts(process.argv.slice(2)));
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

// run as a program, not when imported (tests)
if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => {
    process.stderr.write(`steady-load: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
