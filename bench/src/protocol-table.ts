// The protocols table: HTTP/1.1, h2 and gRPC side by side, each direct / 1 proxy / 2 proxies
// (HTTP/1.1 also nginx), all at full load with closed-loop generators.
import type { Options } from './options.js';
import { PROTOCOL_LABEL } from './protocols.js';
import type { ProtocolSummary } from './protocol-run.js';
import type { ScenarioSummary } from './results.js';
import { SCENARIO_LABEL } from './scenarios.js';
import { fmt, fmtInt, renderTable } from './table.js';

/** the HTTP/1.1 rows in the protocols table's terms: autocannon's req/s, latency and CPU */
export function http1Rows(summaries: readonly ScenarioSummary[]): ProtocolSummary[] {
  return summaries.map((s) => ({
    protocol: 'http1',
    scenario: s.scenario,
    hops: s.hops,
    okRuns: s.okRuns,
    runs: s.runs,
    rps: s.rps,
    p50: s.fullP50,
    p99: s.fullP99,
    cpuSPer10k: s.cpuSPer10k,
    peakRssMb: s.peakRssMb,
    ratioToDirect: s.ratioToDirect,
  }));
}

export function protocolTable(rows: readonly ProtocolSummary[]): string {
  const body = rows.map((r) => [
    PROTOCOL_LABEL[r.protocol],
    r.okRuns === 0 ? `${SCENARIO_LABEL[r.scenario]} (failed)` : SCENARIO_LABEL[r.scenario],
    fmtInt(r.rps),
    fmt(r.p50, 3),
    fmt(r.p99, 3),
    fmt(r.cpuSPer10k, 3),
    fmt(r.peakRssMb, 1),
    fmt(r.ratioToDirect, 2),
  ]);
  return renderTable(['protocol', 'scenario', 'req/s', 'p50 ms', 'p99 ms', 'CPU-s/10k', 'peak RSS MB', '× direct'], body);
}

/** the section of the report: what the rows are, then the table */
export function protocolSection(o: Pick<Options, 'throughputConnections' | 'muxConnections' | 'muxStreams'>, rows: readonly ProtocolSummary[]): string[] {
  const inFlight = o.muxConnections * o.muxStreams;
  return [
    'Protocols: the scenarios over HTTP/1.1, HTTP/2 and gRPC, each at full load (closed loop), latency of that same load',
    `(not the steady load above). HTTP/1.1: autocannon, ${o.throughputConnections} connections. h2: h2load, h2c with prior knowledge,`,
    `${o.muxConnections} connections × ${o.muxStreams} streams. gRPC: unary calls from grpc-js, ${o.muxConnections} channels × ${o.muxStreams} calls = ${inFlight} in flight`,
    '(req/s = calls/s). The proxies speak HTTP/2 upstream in the h2 and gRPC rows; nginx is HTTP/1.1 only (no h2c upstream).',
    'CPU-s/10k: summed over the proxy processes. Compare rows within a protocol: the generators differ.',
    '',
    protocolTable(rows),
  ];
}
