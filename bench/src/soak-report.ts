// The soak's table and verdicts, from its samples (every 5 s), the load's per-second counts, the
// restart and the pushes. Pure functions.
//
// Windows: the run is cut into slices of 60 s when it lasts 4 minutes or more, otherwise of a
// fifth of its duration (70 s: 14 s slices). "Second minute" is the second slice (the first
// holds start-up and JIT warm-up), "last minute" the last slice. A sample at t belongs to slice
// floor(t / slice) (the one at the very end to the last slice).
import type { PushResult } from './soak-push.js';
import type { SoakLoadSecond } from './soak-load.js';
import type { Sample } from './soak-sampler.js';
import { median } from './stats.js';

export interface SoakSecond extends SoakLoadSecond {
  /** seconds since the load started */
  t: number;
}

export interface RestartRecord {
  /** seconds since the load started, when the server app was killed */
  killT: number;
  /** when it answered 200 again (null: it never did) */
  readyT: number | null;
  /** the grace after readyT the window extends to (s) */
  graceS: number;
}

export interface Thresholds {
  /** the last slice's median RSS may exceed the second's by at most this fraction */
  rssGrowth: number;
  /** fds: the last slice's median may exceed the second's by at most max(fdSlack, 10 %) */
  fdSlack: number;
  /** achieved responses/s at least this fraction of the rate */
  minRateRatio: number;
}

export interface Verdict {
  name: string;
  pass: boolean;
  detail: string;
}

export interface SliceRow {
  from: number;
  to: number;
  /** per process name: median RSS (MB), worst ELD p99 (ms), median fds, CPU used (cores) */
  procs: Record<string, { rssMb: number | null; eldP99Ms: number | null; fds: number | null; vcpu: number | null }>;
  rps: number;
  non2xx: number;
}

export function sliceSeconds(durationS: number): number {
  return durationS >= 240 ? 60 : durationS / 5;
}

function sliceOf(t: number, sliceS: number, count: number): number {
  return Math.max(0, Math.min(count - 1, Math.floor(t / sliceS)));
}

const med = (xs: (number | null)[]): number | null => {
  const v = xs.filter((x): x is number => x !== null);
  return v.length === 0 ? null : median(v);
};

/** CPU seconds per second of `name` between the first and last of `samples` */
function vcpu(name: string, samples: readonly Sample[]): number | null {
  const pts = samples.map((s) => ({ t: s.t, cpu: s.procs.find((p) => p.name === name)?.cpuS ?? null })).filter((p) => p.cpu !== null);
  if (pts.length < 2 || pts[pts.length - 1].t <= pts[0].t) return null;
  return (pts[pts.length - 1].cpu! - pts[0].cpu!) / (pts[pts.length - 1].t - pts[0].t);
}

export function sliceRows(durationS: number, samples: readonly Sample[], seconds: readonly SoakSecond[]): SliceRow[] {
  const sliceS = sliceSeconds(durationS);
  const count = Math.max(1, Math.ceil(durationS / sliceS - 1e-9));
  const names = [...new Set(samples.flatMap((s) => s.procs.map((p) => p.name)))];
  const rows: SliceRow[] = [];
  for (let i = 0; i < count; i++) {
    const mine = samples.filter((s) => sliceOf(s.t, sliceS, count) === i);
    const before = samples.filter((s) => sliceOf(s.t, sliceS, count) < i).at(-1);
    const all = seconds.filter((s) => sliceOf(s.t - 0.5, sliceS, count) === i);
    const secs = all.filter((s) => s.t - 0.5 < durationS); // not the drain after the load's end
    const procs: SliceRow['procs'] = {};
    for (const name of names) {
      const ps = mine.map((s) => s.procs.find((p) => p.name === name)).filter((p) => p !== undefined);
      const eld = ps.map((p) => p.eldP99Ms).filter((x): x is number => x !== null);
      procs[name] = { rssMb: med(ps.map((p) => p.rssMb)), eldP99Ms: eld.length === 0 ? null : Math.max(...eld), fds: med(ps.map((p) => p.fds)), vcpu: vcpu(name, before === undefined ? mine : [before, ...mine]) };
    }
    const from = i * sliceS;
    const to = Math.min(durationS, (i + 1) * sliceS);
    const responses = secs.reduce((n, s) => n + s.ok + s.non2xx, 0);
    rows.push({ from, to, procs, rps: responses / Math.max(1, secs.length), non2xx: all.reduce((n, s) => n + s.non2xx + s.errors, 0) });
  }
  return rows;
}

/** The failures (non-2xx and connection errors) inside and outside the restart window. */
export function failuresAroundRestart(seconds: readonly SoakSecond[], loadStartMs: number, restart: RestartRecord | null): { inside: number; outside: { t: number; status: number }[] } {
  let inside = 0;
  const outside: { t: number; status: number }[] = [];
  for (const s of seconds) {
    for (const b of s.bad) {
      const t = (b.at - loadStartMs) / 1000;
      const end = restart === null ? -1 : (restart.readyT ?? Number.POSITIVE_INFINITY) + restart.graceS;
      if (restart !== null && t >= restart.killT && t <= end) inside++;
      else outside.push({ t: Math.round(t * 1000) / 1000, status: b.status });
    }
    // a second whose failures were not all listed (over 5000): count the rest as outside
    const unlisted = s.non2xx + s.errors - s.bad.length;
    for (let i = 0; i < unlisted; i++) outside.push({ t: s.t, status: -1 });
  }
  return { inside, outside };
}

export interface VerdictInput {
  durationS: number;
  rate: number;
  sidecars: readonly string[];
  rows: readonly SliceRow[];
  seconds: readonly SoakSecond[];
  loadStartMs: number;
  restart: RestartRecord | null;
  pushes: readonly PushResult[];
  thresholds: Thresholds;
}

export function verdicts(v: VerdictInput): Verdict[] {
  const out: Verdict[] = [];
  const second = v.rows[Math.min(1, v.rows.length - 1)];
  const last = v.rows[v.rows.length - 1];
  const span = (r: SliceRow): string => `${r.from.toFixed(0)}-${r.to.toFixed(0)} s`;
  for (const name of v.sidecars) {
    const a = second.procs[name]?.rssMb ?? null;
    const b = last.procs[name]?.rssMb ?? null;
    const pass = a !== null && b !== null && b <= a * (1 + v.thresholds.rssGrowth);
    const growth = a !== null && b !== null ? `${(((b - a) / a) * 100).toFixed(1)} %` : 'n/a';
    out.push({ name: `RSS flat: ${name}`, pass, detail: `median ${fmt(b)} MB (${span(last)}) vs ${fmt(a)} MB (${span(second)}): ${growth} (limit +${v.thresholds.rssGrowth * 100} %)` });
  }
  const f = failuresAroundRestart(v.seconds, v.loadStartMs, v.restart);
  const win = v.restart === null ? 'no restart' : `restart window ${v.restart.killT.toFixed(1)}-${v.restart.readyT === null ? 'never ready' : (v.restart.readyT + v.restart.graceS).toFixed(1)} s`;
  const firsts = f.outside.slice(0, 5).map((o) => `${o.status === 0 ? 'error' : o.status} at ${o.t} s`).join(', ');
  out.push({ name: '0 non-2xx outside the restart', pass: f.outside.length === 0 && v.restart !== null && v.restart.readyT !== null, detail: `${f.outside.length} outside${firsts === '' ? '' : ` (${firsts})`}; ${f.inside} inside the ${win}` });
  for (const name of v.sidecars) {
    const a = second.procs[name]?.fds ?? null;
    const b = last.procs[name]?.fds ?? null;
    const slack = a === null ? 0 : Math.max(v.thresholds.fdSlack, a * 0.1);
    out.push({ name: `fds not growing: ${name}`, pass: a !== null && b !== null && b <= a + slack, detail: `median ${fmt(b)} (${span(last)}) vs ${fmt(a)} (${span(second)}), slack ${slack.toFixed(0)}` });
  }
  // the load's duration only: what it answers while draining its backlog afterwards does not count
  const responses = v.seconds.filter((s) => s.t - 0.5 < v.durationS).reduce((n, s) => n + s.ok + s.non2xx, 0);
  const achieved = responses / v.durationS;
  out.push({ name: `rate ≥ ${v.thresholds.minRateRatio * 100} % of ${v.rate}/s`, pass: achieved >= v.rate * v.thresholds.minRateRatio, detail: `${achieved.toFixed(0)} responses/s (${((achieved / v.rate) * 100).toFixed(1)} %)` });
  const missed = v.pushes.filter((p) => p.reachedMs === null);
  const slowest = Math.max(0, ...v.pushes.map((p) => p.reachedMs ?? 0));
  out.push({ name: 'pushes reached the sidecar', pass: v.pushes.length > 0 && missed.length === 0, detail: `${v.pushes.length - missed.length}/${v.pushes.length} within 15 s (slowest ${slowest} ms)` });
  return out;
}

function fmt(n: number | null, digits = 1): string {
  return n === null ? '-' : n.toFixed(digits);
}

const mmss = (s: number): string => `${Math.floor(s / 60)}:${String(Math.round(s % 60)).padStart(2, '0')}`;

/** `load`: the load generator's process name (its CPU is shown, to tell a slow generator from slow proxies) */
export function formatTable(rows: readonly SliceRow[], sidecars: readonly string[], controlPlane: string, load: string): string {
  const short = (n: string): string => n.replace(/^soak-/, '').replace(/ sidecar$/, '');
  const head = ['slice', ...sidecars.flatMap((s) => [`RSS ${short(s)}`, `ELD p99 ${short(s)}`, `fds ${short(s)}`, `CPU ${short(s)}`]), 'RSS cp', 'CPU load', 'req/s', 'non-2xx'];
  const body = rows.map((r) => [
    `${mmss(r.from)}-${mmss(r.to)}`,
    ...sidecars.flatMap((s) => [`${fmt(r.procs[s]?.rssMb ?? null)} MB`, `${fmt(r.procs[s]?.eldP99Ms ?? null)} ms`, fmt(r.procs[s]?.fds ?? null, 0), fmt(r.procs[s]?.vcpu ?? null, 2)]),
    `${fmt(r.procs[controlPlane]?.rssMb ?? null)} MB`,
    fmt(r.procs[load]?.vcpu ?? null, 2),
    r.rps.toFixed(0),
    String(r.non2xx),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(head), ...body.map(line)].join('\n');
}

export function formatVerdicts(vs: readonly Verdict[]): string {
  return vs.map((v) => `${v.pass ? 'PASS' : 'FAIL'}  ${v.name}: ${v.detail}`).join('\n');
}
