// `--base`: base vs current per scenario (medians over the samples), the table, and the verdict.
import type { ScenarioRun, ScenarioSummary } from './results.js';
import { SCENARIO_LABEL, type ScenarioName } from './scenarios.js';
import { medianOf } from './stats.js';
import { fmt, fmtInt, renderTable } from './table.js';
import { mark, TARGETS } from './targets.js';

export type BuildName = 'base' | 'current';

/** a scenario run of one of the two builds */
export interface CompareRun extends ScenarioRun {
  build: BuildName;
}

export interface Comparison {
  scenario: ScenarioName;
  base: ScenarioSummary;
  current: ScenarioSummary;
  /** current ÷ base of the median full-load req/s (autocannon) */
  rpsRatio: number | null;
  /** the same with wrk, when it ran */
  wrkRpsRatio: number | null;
  /** current ÷ base req/s of each sample (the two runs of one repetition), in order */
  sampleRatios: (number | null)[];
}

export interface Verdict {
  scenario: ScenarioName;
  ratio: number | null;
  min: number;
  /** null when there are no figures to judge */
  pass: boolean | null;
  line: string;
}

const ratio = (a: number | null | undefined, b: number | null | undefined): number | null =>
  a === null || a === undefined || b === null || b === undefined || b === 0 ? null : a / b;

export function compare(base: readonly ScenarioSummary[], current: readonly ScenarioSummary[], runs: readonly CompareRun[]): Comparison[] {
  return base.flatMap((b) => {
    const c = current.find((s) => s.scenario === b.scenario);
    if (c === undefined) return [];
    const reps = [...new Set(runs.filter((r) => r.scenario === b.scenario).map((r) => r.rep))].sort((x, y) => x - y);
    const rpsOf = (build: BuildName, rep: number): number | null | undefined =>
      runs.find((r) => r.scenario === b.scenario && r.build === build && r.rep === rep && r.error === null)?.throughput?.result.rps;
    return [{
      scenario: b.scenario,
      base: b,
      current: c,
      rpsRatio: ratio(c.rps, b.rps),
      wrkRpsRatio: ratio(c.wrkRps, b.wrkRps),
      sampleRatios: reps.map((rep) => ratio(rpsOf('current', rep), rpsOf('base', rep))),
    }];
  });
}

/** base and current side by side: req/s and their ratio, steady-load p50/p99, CPU per 10k requests */
export function comparisonTable(rows: readonly Comparison[]): string {
  const withWrk = rows.some((r) => r.wrkRpsRatio !== null);
  const label = (r: Comparison): string => {
    const failed = [r.base.okRuns === 0 ? 'base' : null, r.current.okRuns === 0 ? 'current' : null].filter((x) => x !== null);
    return failed.length === 0 ? SCENARIO_LABEL[r.scenario] : `${SCENARIO_LABEL[r.scenario]} (${failed.join(', ')} failed)`;
  };
  const body = rows.map((r) => [
    label(r),
    fmtInt(r.base.rps),
    fmtInt(r.current.rps),
    fmt(r.rpsRatio, 3),
    ...(withWrk ? [fmt(r.wrkRpsRatio, 3)] : []),
    fmt(r.base.p50, 3),
    fmt(r.current.p50, 3),
    fmt(r.base.p99, 3),
    fmt(r.current.p99, 3),
    fmt(r.base.cpuSPer10k, 3),
    fmt(r.current.cpuSPer10k, 3),
  ]);
  const headers = [
    'scenario',
    'base req/s',
    'current req/s',
    'current/base',
    ...(withWrk ? ['wrk current/base'] : []),
    'base p50 ms',
    'current p50 ms',
    'base p99 ms',
    'current p99 ms',
    'base CPU-s/10k',
    'current CPU-s/10k',
  ];
  return renderTable(headers, body);
}

/** the requirement: one hop with the current build keeps ≥ 0.95 of the base's req/s (null: 1 proxy was not run) */
export function oneHopVerdict(rows: readonly Comparison[], min: number = TARGETS.currentToBaseRatio): Verdict | null {
  const r = rows.find((c) => c.scenario === 'proxy1');
  if (r === undefined) return null;
  const pass = r.rpsRatio === null ? null : r.rpsRatio >= min;
  const value = r.rpsRatio === null ? '- (no figures from one of the builds)' : r.rpsRatio.toFixed(2);
  return { scenario: 'proxy1', ratio: r.rpsRatio, min, pass, line: `${SCENARIO_LABEL.proxy1}: current/base req/s = ${value} (≥ ${min} ${mark(pass)})` };
}

/** "0.97, 1.01, 0.99": how much the ratio moved between samples */
export function sampleRatiosText(r: Comparison): string {
  return r.sampleRatios.map((x) => fmt(x, 2)).join(', ');
}

/** median of the per-sample ratios (paired by repetition), for the JSON */
export function medianSampleRatio(r: Comparison): number | null {
  return medianOf(r.sampleRatios);
}

/**
 * A warning when the samples cannot resolve the 5 % the verdict is about: their current/base
 * ratios spread wider than that. Null when they look steady enough, or are too few to tell.
 */
export function noiseNote(r: Comparison, min: number = TARGETS.currentToBaseRatio): string | null {
  const xs = r.sampleRatios.filter((x): x is number => x !== null);
  const label = SCENARIO_LABEL[r.scenario];
  if (xs.length < 2) return null;
  const spread = (Math.max(...xs) - Math.min(...xs)) / (medianOf(xs) ?? 1);
  if (spread > 1 - min) return `note: ${label}: the per-sample ratios spread over ${(spread * 100).toFixed(0)} %, more than the ${((1 - min) * 100).toFixed(0)} % the verdict resolves: the machine was busy; rerun it idle or with more --reps`;
  return null;
}
