// The cost of mTLS: "2 proxies, mTLS" beside the plaintext "2 proxies", per protocol, with the
// ratio mTLS ÷ plaintext of each figure, and how many TLS handshakes the requests cost.
import { PROTOCOL_LABEL, type Protocol } from './protocols.js';
import type { ProtocolRun, ProtocolSummary } from './protocol-run.js';
import type { ScenarioRun, ScenarioSummary } from './results.js';
import { MTLS_PLAINTEXT, SCENARIO_LABEL, type ScenarioName } from './scenarios.js';
import { fmt, fmtInt, renderTable } from './table.js';
import type { TlsReuse } from './tls-reuse.js';

/** The figures compared: full-load req/s and CPU; latency (HTTP/1.1: the steady load's). */
export interface CostFigures {
  rps: number | null;
  p50: number | null;
  p99: number | null;
  cpuSPer10k: number | null;
}

/** One protocol's mTLS scenario and its plaintext twin. */
export interface MtlsComparison {
  protocol: Protocol;
  mtls: ScenarioName;
  plain: ScenarioName;
  mtlsFigures: CostFigures | null;
  plainFigures: CostFigures | null;
  /** the handshake counters summed over the repetitions' measured loads (null: none recorded) */
  reuse: TlsReuseTotal | null;
}

export interface TlsReuseTotal {
  loads: number;
  handshakes: number;
  connections: number;
  requests: number;
  sinceStartHandshakes: number;
  sinceStartRequests: number;
  sinceStartServerHandshakes: number;
}

const http1Figures = (s: ScenarioSummary | undefined): CostFigures | null =>
  s === undefined || s.okRuns === 0 ? null : { rps: s.rps, p50: s.p50, p99: s.p99, cpuSPer10k: s.cpuSPer10k };
const muxFigures = (s: ProtocolSummary | undefined): CostFigures | null =>
  s === undefined || s.okRuns === 0 ? null : { rps: s.rps, p50: s.p50, p99: s.p99, cpuSPer10k: s.cpuSPer10k };

/** The handshake counters of the runs that recorded them, summed. */
export function totalReuse(reuses: readonly (TlsReuse | null | undefined)[]): TlsReuseTotal | null {
  const rs = reuses.filter((r): r is TlsReuse => r !== null && r !== undefined);
  if (rs.length === 0) return null;
  const sum = (f: (r: TlsReuse) => number): number => rs.reduce((n, r) => n + f(r), 0);
  return {
    loads: rs.length,
    handshakes: sum((r) => r.handshakes),
    connections: sum((r) => r.connections),
    requests: sum((r) => r.requests),
    sinceStartHandshakes: sum((r) => r.sinceStart.handshakes),
    sinceStartRequests: sum((r) => r.sinceStart.requests),
    sinceStartServerHandshakes: sum((r) => r.sinceStart.serverHandshakes),
  };
}

/** The comparisons of every protocol whose rows hold an mTLS scenario (its plaintext twin may be missing). */
export function mtlsComparisons(http1: readonly ScenarioSummary[], http1Runs: readonly ScenarioRun[], mux: readonly ProtocolSummary[], muxRuns: readonly ProtocolRun[]): MtlsComparison[] {
  const out: MtlsComparison[] = [];
  for (const [m, p] of Object.entries(MTLS_PLAINTEXT) as [ScenarioName, ScenarioName][]) {
    if (http1.some((s) => s.scenario === m)) {
      out.push({
        protocol: 'http1',
        mtls: m,
        plain: p,
        mtlsFigures: http1Figures(http1.find((s) => s.scenario === m)),
        plainFigures: http1Figures(http1.find((s) => s.scenario === p)),
        reuse: totalReuse(http1Runs.filter((r) => r.scenario === m && r.error === null).map((r) => r.tlsReuse)),
      });
    }
    for (const protocol of ['h2', 'grpc'] as const) {
      if (!mux.some((s) => s.protocol === protocol && s.scenario === m)) continue;
      out.push({
        protocol,
        mtls: m,
        plain: p,
        mtlsFigures: muxFigures(mux.find((s) => s.protocol === protocol && s.scenario === m)),
        plainFigures: muxFigures(mux.find((s) => s.protocol === protocol && s.scenario === p)),
        reuse: totalReuse(muxRuns.filter((r) => r.protocol === protocol && r.scenario === m && r.error === null).map((r) => r.tlsReuse)),
      });
    }
  }
  return out;
}

const ratio = (a: number | null | undefined, b: number | null | undefined): number | null =>
  a === null || a === undefined || b === null || b === undefined || b === 0 ? null : a / b;

export function mtlsTable(cs: readonly MtlsComparison[]): string {
  const rows: string[][] = [];
  for (const c of cs) {
    const figure = (label: string, f: (x: CostFigures) => number | null, show: (v: number | null) => string): string[] => {
      const plain = c.plainFigures === null ? null : f(c.plainFigures);
      const mtls = c.mtlsFigures === null ? null : f(c.mtlsFigures);
      return [PROTOCOL_LABEL[c.protocol], label, show(plain), show(mtls), fmt(ratio(mtls, plain), 2)];
    };
    rows.push(figure('req/s', (x) => x.rps, fmtInt));
    rows.push(figure('p50 ms', (x) => x.p50, (v) => fmt(v, 3)));
    rows.push(figure('p99 ms', (x) => x.p99, (v) => fmt(v, 3)));
    rows.push(figure('CPU-s/10k', (x) => x.cpuSPer10k, (v) => fmt(v, 3)));
  }
  const first = cs[0];
  const heads = first === undefined ? ['plaintext', 'mTLS'] : [SCENARIO_LABEL[first.plain], SCENARIO_LABEL[first.mtls]];
  return renderTable(['protocol', 'figure', ...heads, 'mTLS ÷ plaintext'], rows);
}

/** "N handshakes for M requests", one line per protocol. */
export function reuseLines(cs: readonly MtlsComparison[]): string[] {
  const n = (v: number): string => v.toLocaleString('en-US');
  return cs.map((c) => {
    const r = c.reuse;
    const what = `${PROTOCOL_LABEL[c.protocol]}:`.padEnd(10);
    if (r === null) return `${what}no handshake figures (the mTLS runs failed)`;
    const per = r.requests > 0 ? ` (${fmt(r.handshakes / r.requests, 5)} per request)` : '';
    return (
      `${what}${n(r.handshakes)} TLS handshakes (${n(r.connections)} new upstream connections) for ${n(r.requests)} requests over ${r.loads} measured load(s)${per}; ` +
      `since the proxies started, warm-up included: ${n(r.sinceStartHandshakes)} handshakes for ${n(r.sinceStartRequests)} requests (server side: ${n(r.sinceStartServerHandshakes)})`
    );
  });
}

/** The section of the report: what is compared, the table, the handshake lines. */
export function mtlsSection(cs: readonly MtlsComparison[]): string[] {
  if (cs.length === 0) return [];
  return [
    'The cost of mTLS: two sidecars with mutual TLS between them vs the same in plaintext (medians). req/s and CPU-s/10k at',
    'full load (CPU summed over both proxies); latency: HTTP/1.1 at the steady load, h2 and gRPC at their full load.',
    '',
    mtlsTable(cs),
    '',
    'TLS handshakes on the client sidecar\'s cluster (its /stats: cluster.upstream.ssl.handshake, upstream_cx_total, upstream_rq_total):',
    ...reuseLines(cs),
  ];
}
