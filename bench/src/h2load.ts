// Finding, running and parsing h2load (Debian's nghttp2-client), the load of the h2 row:
// h2c with prior knowledge, C connections × M concurrent streams, for S seconds.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { ThroughputResult } from './loads.js';
import { runToStdout } from './processes.js';
import { latencySummary } from './stats.js';

export const H2LOAD_INSTALL_HINT = 'apt-get install -y nghttp2-client';

export function h2loadVersion(): string | null {
  const r = spawnSync('h2load', ['--version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return null;
  const m = /nghttp2\/(\S+)/.exec(`${r.stdout ?? ''}${r.stderr ?? ''}`);
  return m ? m[1] : 'unknown';
}

/** what h2load's summary says: totals and rate (it prints no percentiles) */
export interface H2loadSummary {
  rps: number;
  durationS: number;
  succeeded: number;
  failed: number;
  errored: number;
  timeout: number;
  non2xx: number;
}

/** "3.00s" → 3, "850ms" → 0.85, "12us" → 0.000012 */
function seconds(text: string): number {
  const m = /^([\d.]+)(us|ms|s)$/.exec(text);
  if (!m) return Number.NaN;
  return Number(m[1]) * { us: 1e-6, ms: 1e-3, s: 1 }[m[2] as 'us' | 'ms' | 's'];
}

/** parse h2load's text output */
export function parseH2loadOutput(out: string): H2loadSummary {
  const fin = /finished in ([\d.]+(?:us|ms|s)), ([\d.]+) req\/s/.exec(out);
  const req = /requests: \d+ total, \d+ started, \d+ done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/.exec(out);
  const codes = /status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/.exec(out);
  if (!fin || !req) throw new Error(`could not parse h2load output:\n${out.slice(-2000)}`);
  return {
    rps: Number(fin[2]),
    durationS: seconds(fin[1]),
    succeeded: Number(req[1]),
    failed: Number(req[2]),
    errored: Number(req[3]),
    timeout: Number(req[4]),
    non2xx: codes ? Number(codes[2]) + Number(codes[3]) + Number(codes[4]) : 0, // 3xx, 4xx, 5xx
  };
}

/**
 * The per-request latencies (ms) of h2load's `--log-file`: tab-separated rows of start time
 * (µs since the epoch), HTTP status, µs until the end of the response. Rows that are not three
 * numbers (a truncated last line) are left out.
 */
export function latenciesFromLog(text: string): number[] {
  const out: number[] = [];
  for (const line of text.split('\n')) {
    const cols = line.split('\t');
    if (cols.length < 3) continue;
    const us = Number(cols[2]);
    if (cols[0] !== '' && Number.isFinite(Number(cols[0])) && Number.isFinite(us)) out.push(us / 1000);
  }
  return out;
}

/**
 * h2load's summary and its log file's latencies as one result. `durationS`: the measured
 * duration asked for (-D), since "finished in" counts the warm-up too.
 */
export function h2loadResult(out: string, log: string, durationS?: number): ThroughputResult {
  const s = parseH2loadOutput(out);
  const latencies = latenciesFromLog(log);
  if (s.succeeded === 0) throw new Error(`h2load: no request succeeded (${s.failed} failed, ${s.errored} errored, ${s.timeout} timed out)\n${out.slice(-1500)}`);
  return {
    tool: 'h2load',
    rps: s.rps,
    requests: s.succeeded,
    durationS: durationS ?? s.durationS,
    latencyMs: latencySummary(latencies),
    errors: s.errored + s.timeout,
    non2xx: s.non2xx,
  };
}

/** closed-loop h2c load: `h2load -c C -m M -D S --warm-up-time W --log-file FILE http://127.0.0.1:PORT/` */
export async function runH2load(cpu: string, port: number, connections: number, streams: number, durationS: number, logFile: string, warmupS = 0): Promise<ThroughputResult> {
  const args = ['-t', '1', '-c', String(connections), '-m', String(streams), '-D', String(durationS), '--log-file', logFile];
  if (warmupS > 0) args.push(`--warm-up-time=${Math.round(warmupS * 1000)}ms`); // it takes no fractions of a second
  const out = await runToStdout(cpu, 'h2load', [...args, `http://127.0.0.1:${port}/`], (durationS + warmupS + 30) * 1000);
  return h2loadResult(out, readFileSync(logFile, 'utf8'), durationS);
}
