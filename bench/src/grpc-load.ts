// The gRPC load: N unary Echo calls in flight at all times (closed loop: each call's answer
// sends the next), spread over K grpc-js channels (one HTTP/2 connection each), for S seconds
// after an unrecorded warm-up. Run as its own process (pinned to the load CPU):
//   node bench/dist/src/grpc-load.js --port P [--concurrency 50] [--channels 10] [--duration 10] [--warmup 0]
// Prints one JSON line: a ThroughputResult (tool "grpc-js") with each call's latency in the percentiles.
import * as grpc from '@grpc/grpc-js';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ECHO_PATH, REQUEST_MESSAGE } from './grpc-service.js';
import type { ThroughputResult } from './loads.js';
import { latencySummary } from './stats.js';

export interface GrpcLoadOptions {
  port: number;
  concurrency: number;
  channels: number;
  durationS: number;
  warmupS: number;
}

const identity = (b: Buffer): Buffer => b;

export async function runGrpcLoad(o: GrpcLoadOptions): Promise<ThroughputResult> {
  // without a local subchannel pool grpc-js would share one connection among all the channels
  const clients = Array.from({ length: o.channels }, () => new grpc.Client(`127.0.0.1:${o.port}`, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 }));
  const latencies: number[] = [];
  let errors = 0;
  let firstError: string | null = null;
  const t0 = performance.now();
  const measureFrom = t0 + o.warmupS * 1000;
  const stopAt = measureFrom + o.durationS * 1000;
  // a call stalled in the system under test ends (DEADLINE_EXCEEDED) 5 s after the load instead of hanging it
  const callOptions: grpc.CallOptions = { deadline: new Date(Date.now() + (o.warmupS + o.durationS + 5) * 1000) };
  const worker = (i: number): Promise<void> =>
    new Promise((done) => {
      const client = clients[i % clients.length];
      const next = (): void => {
        const start = performance.now();
        if (start >= stopAt) return done();
        client.makeUnaryRequest(ECHO_PATH, identity, identity, REQUEST_MESSAGE, callOptions, (err) => {
          const end = performance.now();
          if (start >= measureFrom && end <= stopAt) {
            if (err === null) latencies.push(end - start);
            else errors++;
          }
          if (err !== null && firstError === null) firstError = `${err.code} ${err.details}`;
          // after an error, do not spin: a refused connection fails at once
          if (err !== null) setTimeout(next, 10);
          else next();
        });
      };
      next();
    });
  await Promise.all(Array.from({ length: o.concurrency }, (_, i) => worker(i)));
  const measuredS = (Math.min(performance.now(), stopAt) - measureFrom) / 1000;
  for (const c of clients) c.close();
  if (latencies.length === 0) throw new Error(`no gRPC call succeeded on 127.0.0.1:${o.port}${firstError === null ? '' : ` (first error: ${firstError})`}`);
  return {
    tool: 'grpc-js',
    rps: latencies.length / measuredS,
    requests: latencies.length,
    durationS: measuredS,
    latencyMs: latencySummary(latencies),
    errors,
    non2xx: 0,
  };
}

function positive(name: string, v: string | undefined, dflt: number, allowZero = false): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0 || (!allowZero && n === 0)) throw new Error(`--${name} needs a ${allowZero ? 'non-negative' : 'positive'} number, got "${v}"`);
  return n;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { port: { type: 'string' }, concurrency: { type: 'string' }, channels: { type: 'string' }, duration: { type: 'string' }, warmup: { type: 'string' } },
  });
  if (values.port === undefined) throw new Error('usage: grpc-load.js --port P [--concurrency N] [--channels K] [--duration S] [--warmup S]');
  const r = await runGrpcLoad({
    port: positive('port', values.port, 0),
    concurrency: positive('concurrency', values.concurrency, 50),
    channels: positive('channels', values.channels, 10),
    durationS: positive('duration', values.duration, 10),
    warmupS: positive('warmup', values.warmup, 0, true),
  });
  process.stdout.write(`${JSON.stringify(r)}\n`);
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`grpc-load: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
