// One scenario run: fresh processes, an unmeasured warm-up, then the three measured loads
// (autocannon, wrk, steady) with the CPU time of the processes under test read around each.
import { cleanups, log } from './bench-session.js';
import { runAutocannon, runSteady, runWrk } from './loads.js';
import type { Options } from './options.js';
import { cpuSeconds, cpuSecondsSum, peakRssKb, rssKb } from './proc-stats.js';
import type { Measured, ScenarioRun } from './results.js';
import { setUp, type Environment, type ScenarioName, type ScenarioSetup } from './scenarios.js';
import { sleep } from './stats.js';
import { fmt, fmtInt } from './table.js';
import { reuseNote, tlsReuse, type TlsReuse } from './tls-reuse.js';

/** run a load while reading CPU time of the measured processes and the upstream around it */
export async function measured<T>(setup: ScenarioSetup, upstreamPid: number, load: () => Promise<T>, requestsOf: (r: T) => number): Promise<Measured<T>> {
  const pids = setup.measuredPids();
  const before = cpuSecondsSum(pids);
  const upBefore = cpuSeconds(upstreamPid);
  const result = await load();
  const after = cpuSecondsSum(pids);
  const upAfter = cpuSeconds(upstreamPid);
  const n = requestsOf(result);
  const cpuS = before === null || after === null ? null : after - before;
  const per10k = (s: number | null): number | null => (s === null || n <= 0 ? null : (s / n) * 10_000);
  return {
    result,
    cpuS,
    cpuSPer10k: per10k(cpuS),
    upstreamCpuSPer10k: per10k(upBefore === null || upAfter === null ? null : upAfter - upBefore),
  };
}

/**
 * Run `load`, and for an mTLS scenario read the link's counters before and after it (outside
 * the CPU measurement of `measured`): the handshakes it cost. `reuse` is null otherwise.
 */
export async function withTlsReuse<T>(setup: ScenarioSetup, load: () => Promise<T>): Promise<{ value: T; reuse: TlsReuse | null }> {
  if (setup.tlsCounters === undefined) return { value: await load(), reuse: null };
  const before = await setup.tlsCounters();
  const value = await load();
  const reuse = tlsReuse(before, await setup.tlsCounters());
  log(`     mTLS: ${reuseNote(reuse)}`);
  return { value, reuse };
}

export async function runScenario(o: Options, name: ScenarioName, rep: number, env: Environment, upstreamPid: number, wrkOk: boolean): Promise<ScenarioRun> {
  const run: ScenarioRun = { scenario: name, rep, error: null, throughput: null, wrk: null, steady: null, peakRss: [] };
  let setup: ScenarioSetup;
  try {
    setup = await setUp(name, env);
  } catch (err) {
    run.error = `setup failed: ${err instanceof Error ? err.message : String(err)}`;
    log(`   ✗ ${run.error.split('\n').join('\n     ')}`);
    return run;
  }
  const cleanup = (): Promise<void> => setup.stop();
  cleanups.add(cleanup);
  const cpuNote = (m: Measured<unknown>): string => (m.cpuSPer10k === null ? '' : `, ${fmt(m.cpuSPer10k, 3)} CPU-s/10k`);
  try {
    // Idle memory: the processes started and served their readiness check, nothing else yet.
    await sleep(1000);
    run.idleRss = setup.measuredPids().flatMap((pid) => {
      const kb = rssKb(pid);
      return kb === null ? [] : [{ pid, kb }];
    });
    if (run.idleRss.length > 0) log(`   idle RSS (VmRSS): ${run.idleRss.map((p) => `${fmt(p.kb / 1024, 1)} MB`).join(', ')}`);
    log(`   warm-up: autocannon, 10 connections, ${o.warmupS} s (not measured)`);
    await runAutocannon(o.cpuLoad, setup.port, 10, o.warmupS);

    log(`   full load: autocannon, ${o.throughputConnections} connections, ${o.loadS} s`);
    const full = await withTlsReuse(setup, () => measured(setup, upstreamPid, () => runAutocannon(o.cpuLoad, setup.port, o.throughputConnections, o.loadS), (r) => r.requests));
    run.throughput = full.value;
    run.tlsReuse = full.reuse;
    const t = run.throughput.result;
    log(`     ${fmtInt(t.rps)} req/s, p50 ${t.latencyMs.p50} ms, p99 ${t.latencyMs.p99} ms${cpuNote(run.throughput)}${t.errors + t.non2xx > 0 ? `, ${t.errors} errors, ${t.non2xx} non-2xx` : ''}`);

    if (wrkOk) {
      await sleep(300);
      log(`   full load: wrk, ${o.throughputConnections} connections, ${o.loadS} s`);
      run.wrk = await measured(setup, upstreamPid, () => runWrk(o.cpuLoad, setup.port, o.throughputConnections, o.loadS), (r) => r.requests);
      const w = run.wrk.result;
      log(`     ${fmtInt(w.rps)} req/s, p50 ${fmt(w.latencyMs.p50, 2)} ms, p99 ${fmt(w.latencyMs.p99, 2)} ms${cpuNote(run.wrk)}${w.errors + w.non2xx > 0 ? `, ${w.errors} errors, ${w.non2xx} non-2xx` : ''}`);
    }

    await sleep(300);
    log(`   steady load: ${o.steadyRate} req/s over ${o.steadyConnections} connections, ${o.loadS} s after 1 s warm-up`);
    run.steady = await measured(setup, upstreamPid, () => runSteady(o.cpuLoad, setup.port, o.steadyRate, o.steadyConnections, o.loadS), (r) => r.completedTotal);
    const s = run.steady.result;
    const problems = s.errors + s.incomplete + s.non2xx;
    log(`     p50 ${fmt(s.latencyMs.p50, 3)} ms, p90 ${fmt(s.latencyMs.p90, 3)} ms, p99 ${fmt(s.latencyMs.p99, 3)} ms, max ${fmt(s.latencyMs.max, 2)} ms${cpuNote(run.steady)}${problems > 0 ? `, ${s.errors} errors, ${s.incomplete} incomplete, ${s.non2xx} non-2xx` : ''}`);

    run.peakRss = setup.measuredPids().flatMap((pid) => {
      const kb = peakRssKb(pid);
      return kb === null ? [] : [{ pid, kb }];
    });
    if (run.peakRss.length > 0) log(`     peak RSS (VmHWM): ${run.peakRss.map((p) => `${fmt(p.kb / 1024, 1)} MB`).join(', ')}`);
  } catch (err) {
    run.error = err instanceof Error ? err.message : String(err);
    log(`   ✗ ${run.error.split('\n').join('\n     ')}`);
  } finally {
    cleanups.delete(cleanup);
    await setup.stop();
  }
  return run;
}

