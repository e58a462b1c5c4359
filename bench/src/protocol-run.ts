// One scenario run of the h2 or gRPC row: fresh processes whose hops speak HTTP/2 upstream, an
// unmeasured warm-up, then one measured closed-loop load (h2load, or bench's grpc-js load) with
// the CPU time of the processes under test read around it.
import { join } from 'node:path';
import { cleanups, log } from './bench-session.js';
import { runH2load } from './h2load.js';
import { runGrpc, type ThroughputResult } from './loads.js';
import type { Options } from './options.js';
import { peakRssKb } from './proc-stats.js';
import { PROTOCOL_LABEL, type Protocol } from './protocols.js';
import type { Measured } from './results.js';
import { measured, withTlsReuse } from './scenario-run.js';
import { HOPS, setUp, type Environment, type ScenarioName, type ScenarioSetup } from './scenarios.js';
import { medianOf } from './stats.js';
import { fmt, fmtInt } from './table.js';
import type { TlsReuse } from './tls-reuse.js';

export type MuxProtocol = Exclude<Protocol, 'http1'>;

export interface ProtocolRun {
  protocol: MuxProtocol;
  scenario: ScenarioName;
  rep: number;
  /** ok, or why this run has no figures */
  error: string | null;
  load: Measured<ThroughputResult> | null;
  /** VmHWM of each measured process, read after the load */
  peakRss: { pid: number; kb: number }[];
  /** mTLS scenarios: the handshakes over the measured load (tls-reuse.ts) */
  tlsReuse?: TlsReuse | null;
}

/** the load of a row: h2load (h2c, C connections × M streams) or grpc-js (C channels × M calls) */
export function describeLoad(protocol: MuxProtocol, o: Pick<Options, 'muxConnections' | 'muxStreams'>): string {
  return protocol === 'h2'
    ? `h2load, ${o.muxConnections} connections × ${o.muxStreams} streams`
    : `grpc-js unary calls, ${o.muxConnections} channels × ${o.muxStreams} calls in flight`;
}

function runLoad(protocol: MuxProtocol, o: Options, port: number, durationS: number, dir: string): Promise<ThroughputResult> {
  if (protocol === 'h2') return runH2load(o.cpuLoad, port, o.muxConnections, o.muxStreams, durationS, join(dir, 'h2load.log'));
  return runGrpc(o.cpuLoad, port, o.muxConnections * o.muxStreams, o.muxConnections, durationS);
}

/** `env.upstreamPort` must be the protocol's own upstream (upstream-h2 or upstream-grpc) */
export async function runProtocolScenario(o: Options, protocol: MuxProtocol, name: ScenarioName, rep: number, env: Environment, upstreamPid: number): Promise<ProtocolRun> {
  const run: ProtocolRun = { protocol, scenario: name, rep, error: null, load: null, peakRss: [] };
  let setup: ScenarioSetup;
  try {
    setup = await setUp(name, { ...env, upstreamHttp2: true });
  } catch (err) {
    run.error = `setup failed: ${err instanceof Error ? err.message : String(err)}`;
    log(`   ✗ ${run.error.split('\n').join('\n     ')}`);
    return run;
  }
  const cleanup = (): Promise<void> => setup.stop();
  cleanups.add(cleanup);
  try {
    log(`   warm-up: ${describeLoad(protocol, o)}, ${o.warmupS} s (not measured)`);
    // Unmeasured: on a busy machine a short warm-up may see no answer yet (sessions still
    // being set up through the proxies); only the measured load's outcome counts.
    await runLoad(protocol, o, setup.port, o.warmupS, env.dir).catch((e: Error) => log(`   warm-up: ${e.message.split('\n')[0]} (not measured; going on)`));
    log(`   full load: ${describeLoad(protocol, o)}, ${o.loadS} s`);
    const full = await withTlsReuse(setup, () => measured(setup, upstreamPid, () => runLoad(protocol, o, setup.port, o.loadS, env.dir), (r) => r.requests));
    run.load = full.value;
    run.tlsReuse = full.reuse;
    const r = run.load.result;
    const cpu = run.load.cpuSPer10k === null ? '' : `, ${fmt(run.load.cpuSPer10k, 3)} CPU-s/10k`;
    const bad = r.errors + r.non2xx > 0 ? `, ${r.errors} errors, ${r.non2xx} non-2xx` : '';
    log(`     ${fmtInt(r.rps)} ${protocol === 'grpc' ? 'calls' : 'req'}/s, p50 ${fmt(r.latencyMs.p50, 3)} ms, p99 ${fmt(r.latencyMs.p99, 3)} ms${cpu}${bad}`);
    run.peakRss = setup.measuredPids().flatMap((pid) => {
      const kb = peakRssKb(pid);
      return kb === null ? [] : [{ pid, kb }];
    });
  } catch (err) {
    run.error = err instanceof Error ? err.message : String(err);
    log(`   ✗ ${PROTOCOL_LABEL[protocol]}: ${run.error.split('\n').join('\n     ')}`);
  } finally {
    cleanups.delete(cleanup);
    await setup.stop();
  }
  return run;
}

/** one row of the protocols table: medians over the repetitions of one protocol and scenario */
export interface ProtocolSummary {
  protocol: Protocol;
  scenario: ScenarioName;
  hops: number;
  okRuns: number;
  runs: number;
  /** full load, closed loop: requests (calls) per second and their latency, ms */
  rps: number | null;
  p50: number | null;
  p99: number | null;
  cpuSPer10k: number | null;
  peakRssMb: number | null;
  ratioToDirect: number | null;
}

export function summarizeProtocolRuns(runs: readonly ProtocolRun[], protocol: MuxProtocol, order: readonly ScenarioName[]): ProtocolSummary[] {
  const out = order.map((scenario): ProtocolSummary => {
    const mine = runs.filter((r) => r.protocol === protocol && r.scenario === scenario);
    const ok = mine.filter((r) => r.error === null && r.load !== null);
    const m = (f: (r: ProtocolRun) => number | null | undefined): number | null => medianOf(ok.map(f));
    return {
      protocol,
      scenario,
      hops: HOPS[scenario],
      okRuns: ok.length,
      runs: mine.length,
      rps: m((r) => r.load?.result.rps),
      p50: m((r) => r.load?.result.latencyMs.p50),
      p99: m((r) => r.load?.result.latencyMs.p99),
      cpuSPer10k: m((r) => r.load?.cpuSPer10k),
      peakRssMb: m((r) => (r.peakRss.length === 0 ? null : Math.max(...r.peakRss.map((p) => p.kb)) / 1024)),
      ratioToDirect: null,
    };
  });
  const direct = out.find((s) => s.scenario === 'direct')?.rps;
  for (const s of out) s.ratioToDirect = s.rps === null || direct === null || direct === undefined || direct === 0 ? null : s.rps / direct;
  return out;
}
