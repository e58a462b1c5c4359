// The figures minimesh's proxy aims for, and checking measured medians against them.
import type { ScenarioSummary } from './results.js';

export const TARGETS = {
  /** one hop keeps at least this share of direct requests/s at 50 connections */
  oneHopRatio: 0.42,
  /** two hops keep at least this share */
  twoHopRatio: 0.28,
  /** CPU seconds per 10,000 requests at full load, per hop */
  cpuSPer10kPerHop: 0.32,
  /** at a steady 2,000 req/s: vCPU per 1,000 req/s per hop (0.06 vCPU per 1,000 req/s = 0.6 CPU-s per 10k) */
  steadyVcpuPer1kRpsPerHop: 0.06,
  /** added latency per hop at 2,000 req/s */
  addedP50PerHopMs: 0.1,
  addedP99PerHopMs: 0.5,
  /** peak RSS of one proxy process under load (concurrency 1) */
  peakRssMb: 60,
  /** RSS of one idle proxy process */
  idleRssMb: 55,
  /** `--base`: one hop of the current build keeps at least this share of the base build's req/s */
  currentToBaseRatio: 0.95,
} as const;

export interface Check {
  scenario: string;
  what: string;
  value: number | null;
  unit: string;
  target: string;
  pass: boolean | null;
}

const atLeast = (v: number | null, t: number): boolean | null => (v === null ? null : v >= t);
const atMost = (v: number | null, t: number): boolean | null => (v === null ? null : v <= t);

export function ratioTarget(hops: number): number {
  return hops >= 2 ? TARGETS.twoHopRatio : TARGETS.oneHopRatio;
}

/** the pass/fail list for the scenarios under test (proxy1, proxy2) */
export function checkTargets(summaries: readonly ScenarioSummary[]): Check[] {
  const direct = summaries.find((s) => s.scenario === 'direct') ?? null;
  const checks: Check[] = [];
  for (const s of summaries) {
    if (s.scenario !== 'proxy1' && s.scenario !== 'proxy2') continue;
    const hops = s.hops;
    const label = s.scenario;
    const rt = ratioTarget(hops);
    checks.push({ scenario: label, what: 'req/s ÷ direct (autocannon, 50 conns)', value: s.ratioToDirect, unit: '', target: `≥ ${rt}`, pass: atLeast(s.ratioToDirect, rt) });
    if (s.wrkRatioToDirect !== null) {
      checks.push({ scenario: label, what: 'req/s ÷ direct (wrk, 50 conns)', value: s.wrkRatioToDirect, unit: '', target: `≥ ${rt}`, pass: atLeast(s.wrkRatioToDirect, rt) });
    }
    const cpu = s.cpuSPer10k === null ? null : s.cpuSPer10k / hops;
    checks.push({ scenario: label, what: 'CPU-s per 10k requests per hop (full load)', value: cpu, unit: 's', target: `≤ ${TARGETS.cpuSPer10kPerHop}`, pass: atMost(cpu, TARGETS.cpuSPer10kPerHop) });
    const added = (v: number | null, d: number | null | undefined): number | null => (v === null || d === null || d === undefined ? null : (v - d) / hops);
    const p50 = added(s.p50, direct?.p50);
    const p99 = added(s.p99, direct?.p99);
    checks.push({ scenario: label, what: 'added p50 per hop at 2,000 req/s', value: p50, unit: 'ms', target: `≤ +${TARGETS.addedP50PerHopMs}`, pass: atMost(p50, TARGETS.addedP50PerHopMs) });
    checks.push({ scenario: label, what: 'added p99 per hop at 2,000 req/s', value: p99, unit: 'ms', target: `≤ +${TARGETS.addedP99PerHopMs}`, pass: atMost(p99, TARGETS.addedP99PerHopMs) });
    // CPU-s per 10k requests ÷ 10 = CPU-s per 1,000 requests = vCPU per 1,000 req/s
    const steady = s.steadyCpuSPer10k === null ? null : s.steadyCpuSPer10k / 10 / hops;
    checks.push({ scenario: label, what: 'vCPU per 1,000 req/s per hop at 2,000 req/s', value: steady, unit: '', target: `≤ ${TARGETS.steadyVcpuPer1kRpsPerHop}`, pass: atMost(steady, TARGETS.steadyVcpuPer1kRpsPerHop) });
    checks.push({ scenario: label, what: 'peak RSS per proxy process', value: s.peakRssMb, unit: 'MB', target: `≤ ${TARGETS.peakRssMb}`, pass: atMost(s.peakRssMb, TARGETS.peakRssMb) });
    checks.push({ scenario: label, what: 'idle RSS per proxy process', value: s.idleRssMb, unit: 'MB', target: `≤ ${TARGETS.idleRssMb}`, pass: atMost(s.idleRssMb, TARGETS.idleRssMb) });
  }
  return checks;
}

export function mark(pass: boolean | null): string {
  return pass === null ? '?' : pass ? '✓' : '✗';
}
