// Plain-text tables and number formatting for the report.
import { renderTable } from '@minimesh/mesh';
import type { ScenarioSummary } from './results.js';
import { SCENARIO_LABEL } from './scenarios.js';
import { mark, ratioTarget, TARGETS, type Check } from './targets.js';

/** The shared renderer (moved to @minimesh/mesh); re-exported for the bench's other reports. */
export { renderTable };

export function fmt(v: number | null | undefined, digits = 2): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '-';
  return v.toFixed(digits);
}

export function fmtInt(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '-';
  return Math.round(v).toLocaleString('en-US');
}

const withMark = (text: string, pass: boolean | null | undefined): string => (pass === undefined || text === '-' ? text : `${text} ${mark(pass)}`);

/** the main table: full-load req/s (autocannon), steady-load latency, CPU, memory, ratios */
export function mainTable(summaries: readonly ScenarioSummary[]): string {
  const direct = summaries.find((s) => s.scenario === 'direct');
  const underTest = (s: ScenarioSummary): boolean => s.scenario === 'proxy1' || s.scenario === 'proxy2';
  const addedOk = (v: number | null, d: number | null | undefined, hops: number, limit: number): boolean | undefined =>
    v === null || d === null || d === undefined ? undefined : (v - d) / hops <= limit;
  const rows = summaries.map((s) => {
    const t = underTest(s);
    return [
      s.okRuns === 0 ? `${SCENARIO_LABEL[s.scenario]} (failed)` : SCENARIO_LABEL[s.scenario],
      fmtInt(s.rps),
      withMark(fmt(s.p50, 3), t ? addedOk(s.p50, direct?.p50, s.hops, TARGETS.addedP50PerHopMs) : undefined),
      fmt(s.p90, 3),
      withMark(fmt(s.p99, 3), t ? addedOk(s.p99, direct?.p99, s.hops, TARGETS.addedP99PerHopMs) : undefined),
      fmt(s.max, 2),
      withMark(fmt(s.cpuSPer10k, 3), t && s.cpuSPer10k !== null ? s.cpuSPer10k / s.hops <= TARGETS.cpuSPer10kPerHop : undefined),
      withMark(fmt(s.peakRssMb, 1), t && s.peakRssMb !== null ? s.peakRssMb <= TARGETS.peakRssMb : undefined),
      withMark(fmt(s.ratioToDirect, 2), t && s.ratioToDirect !== null ? s.ratioToDirect >= ratioTarget(s.hops) : undefined),
      fmt(s.ratioToNginx, 2),
    ];
  });
  return renderTable(['scenario', 'req/s', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'CPU-s/10k', 'peak RSS MB', '× direct', '× nginx'], rows);
}

/** the full-load details: both load generators */
export function fullLoadTable(summaries: readonly ScenarioSummary[], withWrk: boolean): string {
  const rows = summaries.map((s) => [
    SCENARIO_LABEL[s.scenario],
    fmtInt(s.rps),
    fmt(s.fullP50, 0),
    fmt(s.fullP99, 0),
    ...(withWrk
      ? [fmtInt(s.wrkRps), fmt(s.wrkP50, 2), fmt(s.wrkP99, 2), fmt(s.wrkCpuSPer10k, 3), fmt(s.wrkRatioToDirect, 2), fmt(s.wrkRatioToNginx, 2)]
      : []),
    fmtInt(s.steadyAchievedRps),
    fmt(s.steadyCpuSPer10k, 3),
  ]);
  const headers = [
    'scenario',
    'autocannon req/s',
    'p50 ms',
    'p99 ms',
    ...(withWrk ? ['wrk req/s', 'p50 ms', 'p99 ms', 'CPU-s/10k', '× direct', '× nginx'] : []),
    'steady req/s',
    'CPU-s/10k',
  ];
  return renderTable(headers, rows);
}

export function targetsTable(checks: readonly Check[]): string {
  const rows = checks.map((c) => [
    c.scenario,
    c.what,
    c.value === null ? '-' : `${c.unit === 'ms' && c.value >= 0 ? '+' : ''}${fmt(c.value, c.unit === 'MB' ? 1 : 3)}${c.unit === '' ? '' : ` ${c.unit}`}`,
    `${c.target}${c.unit === '' ? '' : ` ${c.unit}`}`,
    c.pass === null ? 'n/a' : c.pass ? 'PASS' : 'FAIL',
  ]);
  return renderTable(['scenario', 'figure', 'measured', 'target', ''], rows);
}
