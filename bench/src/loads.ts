// The loads, each run as a separate process pinned to the load CPU (h2load's is in h2load.ts).
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { distProgram } from './paths.js';
import { runToStdout } from './processes.js';
import type { SteadyLoadResult } from './steady-load.js';
import { parseWrk } from './wrk.js';

export interface ThroughputResult {
  tool: 'autocannon' | 'wrk' | 'h2load' | 'grpc-js';
  rps: number;
  requests: number;
  durationS: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number };
  errors: number;
  non2xx: number;
}

export type { SteadyLoadResult };

const require = createRequire(import.meta.url);

function autocannonCli(): string {
  return join(dirname(require.resolve('autocannon/package.json')), 'autocannon.js');
}

interface AutocannonJson {
  duration: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  latency: { p50: number; p90: number; p99: number; max: number };
  requests: { total: number };
}

/** full-speed closed-loop load with the autocannon CLI (`--json`) */
export async function runAutocannon(cpu: string, port: number, connections: number, durationS: number): Promise<ThroughputResult> {
  const out = await runToStdout(
    cpu,
    process.execPath,
    [autocannonCli(), '-c', String(connections), '-d', String(durationS), '--json', `http://127.0.0.1:${port}/`],
    (durationS + 30) * 1000,
  );
  const j = JSON.parse(out.slice(out.indexOf('{'))) as AutocannonJson;
  return {
    tool: 'autocannon',
    rps: j.requests.total / j.duration,
    requests: j.requests.total,
    durationS: j.duration,
    latencyMs: { p50: j.latency.p50, p90: j.latency.p90, p99: j.latency.p99, max: j.latency.max },
    errors: j.errors + j.timeouts,
    non2xx: j.non2xx,
  };
}

/** full-speed closed-loop load with wrk (one thread: it has one CPU) */
export async function runWrk(cpu: string, port: number, connections: number, durationS: number): Promise<ThroughputResult> {
  const out = await runToStdout(
    cpu,
    'wrk',
    ['-t1', `-c${connections}`, `-d${durationS}s`, '--latency', `http://127.0.0.1:${port}/`],
    (durationS + 30) * 1000,
  );
  return parseWrk(out);
}

/** fixed-rate open-loop load with bench's own steady generator */
export async function runSteady(cpu: string, port: number, rate: number, connections: number, durationS: number): Promise<SteadyLoadResult> {
  const out = await runToStdout(
    cpu,
    process.execPath,
    [distProgram('steady-load'), '--port', String(port), '--rate', String(rate), '--connections', String(connections), '--duration', String(durationS)],
    (durationS + 60) * 1000,
  );
  return JSON.parse(out) as SteadyLoadResult;
}

/** closed-loop gRPC load with bench's grpc-js generator (src/grpc-load.ts): unary calls, `concurrency` in flight over `channels` connections */
export async function runGrpc(cpu: string, port: number, concurrency: number, channels: number, durationS: number, warmupS = 0): Promise<ThroughputResult> {
  const out = await runToStdout(
    cpu,
    process.execPath,
    [distProgram('grpc-load'), '--port', String(port), '--concurrency', String(concurrency), '--channels', String(channels), '--duration', String(durationS), '--warmup', String(warmupS)],
    (durationS + warmupS + 30) * 1000,
  );
  return JSON.parse(out) as ThroughputResult;
}
