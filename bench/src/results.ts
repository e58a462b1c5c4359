// What one scenario run records, and the medians over repetitions.
import type { SteadyLoadResult, ThroughputResult } from './loads.js';
import { HOPS, type ScenarioName } from './scenarios.js';
import { medianOf } from './stats.js';
import type { TlsReuse } from './tls-reuse.js';

export interface Measured<T> {
  result: T;
  /** CPU seconds used by the measured processes (proxies / nginx worker) during the load */
  cpuS: number | null;
  cpuSPer10k: number | null;
  /** the same for the upstream process, for reference */
  upstreamCpuSPer10k: number | null;
}

export interface ScenarioRun {
  scenario: ScenarioName;
  rep: number;
  /** ok, or why this run has no figures */
  error: string | null;
  throughput: Measured<ThroughputResult> | null;
  wrk: Measured<ThroughputResult> | null;
  steady: Measured<SteadyLoadResult> | null;
  /** VmHWM of each measured process, read at the end of the run (processes are fresh per run) */
  peakRss: { pid: number; kb: number }[];
  /** VmRSS of each measured process once started and idle (before any load), kB */
  idleRss?: { pid: number; kb: number }[];
  /** mTLS scenarios: the handshakes over the autocannon full load (tls-reuse.ts) */
  tlsReuse?: TlsReuse | null;
}

export interface ScenarioSummary {
  scenario: ScenarioName;
  hops: number;
  /** runs that produced figures */
  okRuns: number;
  runs: number;
  /** full load, autocannon, 50 connections */
  rps: number | null;
  fullP50: number | null;
  fullP99: number | null;
  cpuSPer10k: number | null;
  /** full load, wrk, 50 connections */
  wrkRps: number | null;
  wrkP50: number | null;
  wrkP99: number | null;
  wrkCpuSPer10k: number | null;
  /** steady 2,000 req/s (ms) */
  p50: number | null;
  p90: number | null;
  p99: number | null;
  max: number | null;
  steadyAchievedRps: number | null;
  steadyCpuSPer10k: number | null;
  steadyProblems: number;
  /** largest single measured process, MB */
  peakRssMb: number | null;
  /** VmRSS of the largest measured process when idle (started, before the warm-up), median */
  idleRssMb: number | null;
  /** VmHWM summed over every measured process of a run (a proxy's primary and workers), median */
  peakRssSumMb: number | null;
  /** measured processes per run (the most of any run) */
  processes: number;
  ratioToDirect: number | null;
  ratioToNginx: number | null;
  wrkRatioToDirect: number | null;
  wrkRatioToNginx: number | null;
}

const ratio = (a: number | null, b: number | null | undefined): number | null =>
  a === null || b === null || b === undefined || b === 0 ? null : a / b;

/** the steady load's latencies, unless not one measured request completed (the histogram is then empty: all zeros) */
function steadyLatency(r: ScenarioRun): SteadyLoadResult['latencyMs'] | undefined {
  return r.steady !== null && r.steady.result.completed > 0 ? r.steady.result.latencyMs : undefined;
}

export function summarize(runs: readonly ScenarioRun[], order: readonly ScenarioName[]): ScenarioSummary[] {
  const out: ScenarioSummary[] = order.map((scenario) => {
    const mine = runs.filter((r) => r.scenario === scenario);
    const ok = mine.filter((r) => r.error === null);
    const m = (f: (r: ScenarioRun) => number | null | undefined): number | null => medianOf(ok.map(f));
    return {
      scenario,
      hops: HOPS[scenario],
      okRuns: ok.length,
      runs: mine.length,
      rps: m((r) => r.throughput?.result.rps),
      fullP50: m((r) => r.throughput?.result.latencyMs.p50),
      fullP99: m((r) => r.throughput?.result.latencyMs.p99),
      cpuSPer10k: m((r) => r.throughput?.cpuSPer10k),
      wrkRps: m((r) => r.wrk?.result.rps),
      wrkP50: m((r) => r.wrk?.result.latencyMs.p50),
      wrkP99: m((r) => r.wrk?.result.latencyMs.p99),
      wrkCpuSPer10k: m((r) => r.wrk?.cpuSPer10k),
      p50: m((r) => steadyLatency(r)?.p50),
      p90: m((r) => steadyLatency(r)?.p90),
      p99: m((r) => steadyLatency(r)?.p99),
      max: m((r) => steadyLatency(r)?.max),
      steadyAchievedRps: m((r) => r.steady?.result.achievedRps),
      steadyCpuSPer10k: m((r) => r.steady?.cpuSPer10k),
      steadyProblems: ok.reduce((n, r) => n + (r.steady ? r.steady.result.errors + r.steady.result.incomplete + r.steady.result.non2xx : 0), 0),
      peakRssMb: m((r) => (r.peakRss.length === 0 ? null : Math.max(...r.peakRss.map((p) => p.kb)) / 1024)),
      idleRssMb: m((r) => (r.idleRss === undefined || r.idleRss.length === 0 ? null : Math.max(...r.idleRss.map((p) => p.kb)) / 1024)),
      peakRssSumMb: m((r) => (r.peakRss.length === 0 ? null : r.peakRss.reduce((n, p) => n + p.kb, 0) / 1024)),
      processes: Math.max(0, ...ok.map((r) => r.peakRss.length)),
      ratioToDirect: null,
      ratioToNginx: null,
      wrkRatioToDirect: null,
      wrkRatioToNginx: null,
    };
  });
  const direct = out.find((s) => s.scenario === 'direct');
  const nginx = out.find((s) => s.scenario === 'nginx');
  for (const s of out) {
    s.ratioToDirect = ratio(s.rps, direct?.rps);
    s.ratioToNginx = ratio(s.rps, nginx?.rps);
    s.wrkRatioToDirect = ratio(s.wrkRps, direct?.wrkRps);
    s.wrkRatioToNginx = ratio(s.wrkRps, nginx?.wrkRps);
  }
  return out;
}
