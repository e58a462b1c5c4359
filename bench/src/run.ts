// `npm run bench`: load the same upstream direct, through one and two minimesh proxies
// and through nginx, interleaved and repeated; print medians and write the full JSON.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { runAutocannon, runSteady, runWrk } from './loads.js';
import { findNginx } from './nginx.js';
import { parseOptions, USAGE, type Options } from './options.js';
import { repoRoot, resultsDir, distProgram } from './paths.js';
import { cpuSeconds, cpuSecondsSum, peakRssKb } from './proc-stats.js';
import { firstJsonLine, hasTaskset, spawnPinned, stop } from './processes.js';
import { summarize, type Measured, type ScenarioRun } from './results.js';
import { SCENARIO_DESCRIPTION, SCENARIO_LABEL, setUp, type Environment, type ScenarioName, type ScenarioSetup } from './scenarios.js';
import { sleep } from './stats.js';
import { fmt, fmtInt, fullLoadTable, mainTable, targetsTable } from './table.js';
import { checkTargets, TARGETS } from './targets.js';
import { wrkVersion } from './wrk.js';

const INSTALL_HINT = 'apt-get install -y nginx-light wrk';
const started = Date.now();
const cleanups = new Set<() => Promise<void>>();

function log(line: string): void {
  const s = Math.round((Date.now() - started) / 1000);
  process.stdout.write(`[${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}] ${line}\n`);
}

/** run a load while reading CPU time of the measured processes and the upstream around it */
async function measured<T>(setup: ScenarioSetup, upstreamPid: number, load: () => Promise<T>, requestsOf: (r: T) => number): Promise<Measured<T>> {
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

async function runScenario(o: Options, name: ScenarioName, rep: number, env: Environment, upstreamPid: number, wrkOk: boolean): Promise<ScenarioRun> {
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
    log(`   warm-up: autocannon, 10 connections, ${o.warmupS} s (not measured)`);
    await runAutocannon(o.cpuLoad, setup.port, 10, o.warmupS);

    log(`   full load: autocannon, ${o.throughputConnections} connections, ${o.loadS} s`);
    run.throughput = await measured(setup, upstreamPid, () => runAutocannon(o.cpuLoad, setup.port, o.throughputConnections, o.loadS), (r) => r.requests);
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

function gitCommit(): string | null {
  const r = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: repoRoot, encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

async function main(): Promise<number> {
  let o: Options;
  try {
    const parsed = parseOptions(process.argv.slice(2));
    if (parsed === 'help') {
      process.stdout.write(USAGE);
      return 0;
    }
    o = parsed;
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    return 2;
  }
  if (!existsSync('/proc/self/stat')) {
    process.stderr.write('bench needs Linux /proc to read CPU time and memory of the processes under test\n');
    return 2;
  }

  // tools
  const nginx = o.only.includes('nginx') ? findNginx() : null;
  if (o.only.includes('nginx') && nginx === null) {
    log(`nginx is not installed: skipping the nginx scenario. Install it with: ${INSTALL_HINT}`);
    o.only = o.only.filter((s) => s !== 'nginx');
  }
  const wrk = o.useWrk ? wrkVersion() : null;
  if (o.useWrk && wrk === null) log(`wrk is not installed: skipping the wrk load. Install it with: ${INSTALL_HINT}`);
  if (!hasTaskset()) log('taskset not found (util-linux): processes are NOT pinned to CPUs; figures will be noisier');
  if (o.cpuLoad === o.cpuUnderTest) log('fewer than 2 CPUs: the load generator shares the CPU with the processes under test');
  const proxyScript = o.proxyCmd.find((a) => a.endsWith('.js'));
  if (o.only.some((s) => s === 'proxy1' || s === 'proxy2') && proxyScript !== undefined && proxyScript.endsWith('.js') && !existsSync(proxyScript)) {
    log(`${proxyScript} does not exist: the proxy scenarios will fail (build first; --proxy-cmd standin exercises the harness with a test double)`);
  }
  if (o.only.length === 0) {
    log('no scenario to run');
    return 2;
  }

  const loadsPerRun = 1 + (wrk !== null ? 1 : 0) + 1;
  const totalSteps = o.reps * o.only.length;
  const estimateS = totalSteps * (o.warmupS + loadsPerRun * (o.loadS + 1) + 2);
  log(`minimesh bench: ${o.only.join(', ')} × ${o.reps} repetition(s), ${o.loadS} s loads, about ${Math.ceil(estimateS / 60)} min`);
  log(`placement: upstream + proxies/nginx on CPU ${o.cpuUnderTest}, load generators on CPU ${o.cpuLoad}`);
  log(`proxy command: ${o.proxyCmd.join(' ')} proxy --bootstrap FILE --health-port off`);

  if (o.profileDir !== null) {
    mkdirSync(o.profileDir, { recursive: true });
    log(`profiling: proxies run under node --cpu-prof, profiles go to ${o.profileDir} (figures are slower than without)`);
  }
  const workDir = mkdtempSync(join(tmpdir(), 'minimesh-bench-'));
  const upstream = spawnPinned(o.cpuUnderTest, process.execPath, [distProgram('upstream')]);
  const stopUpstream = (): Promise<void> => stop(upstream);
  cleanups.add(stopUpstream);
  const onSignal = (): void => {
    log('interrupted: stopping the processes started by the bench');
    void Promise.all([...cleanups].map((c) => c())).finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const runs: ScenarioRun[] = [];
  try {
    const { port: upstreamPort } = await firstJsonLine<{ port: number }>(upstream, 10_000);
    log(`upstream listening on 127.0.0.1:${upstreamPort} (pid ${upstream.pid})`);
    let step = 0;
    for (let rep = 1; rep <= o.reps; rep++) {
      for (const name of o.only) {
        step++;
        log(`step ${step}/${totalSteps} · repetition ${rep}/${o.reps} · ${SCENARIO_LABEL[name]}: ${SCENARIO_DESCRIPTION[name]}`);
        const dir = join(workDir, `${rep}-${name}`);
        mkdirSync(dir, { recursive: true });
        const env: Environment = { upstreamPort, cpuUnderTest: o.cpuUnderTest, proxyCmd: o.proxyCmd, nginx, dir, profileDir: o.profileDir };
        runs.push(await runScenario(o, name, rep, env, upstream.pid, wrk !== null));
      }
    }
  } finally {
    cleanups.delete(stopUpstream);
    await stopUpstream();
  }

  const summaries = summarize(runs, o.only);
  const checks = checkTargets(summaries);
  const failedRuns = runs.filter((r) => r.error !== null);

  const out: string[] = [];
  out.push('');
  out.push(`Results: median of ${o.reps} repetition(s). req/s at full load (autocannon, ${o.throughputConnections} connections);`);
  out.push(`latency at a steady ${o.steadyRate} req/s over ${o.steadyConnections} connections, from the scheduled send time;`);
  out.push('CPU-s/10k at full load, summed over the proxy processes (nginx: its worker); peak RSS = VmHWM of the largest one.');
  out.push(`✓/✗ = target met or not (p50/p99: added latency per hop vs direct; CPU: per hop).`);
  out.push('');
  out.push(mainTable(summaries));
  out.push('');
  out.push('Full load details');
  out.push(fullLoadTable(summaries, wrk !== null));
  if (checks.length > 0) {
    out.push('');
    out.push('Targets');
    out.push(targetsTable(checks));
  }
  for (const s of summaries) {
    if (s.steadyProblems > 0) out.push(`note: ${SCENARIO_LABEL[s.scenario]}: ${s.steadyProblems} steady-load requests failed or did not complete`);
  }
  for (const r of failedRuns) out.push(`failed: ${SCENARIO_LABEL[r.scenario]} repetition ${r.rep}: ${r.error?.split('\n')[0]}`);

  mkdirSync(resultsDir, { recursive: true });
  const stamp = new Date(started).toISOString().replace(/[:.]/g, '-');
  const file = join(resultsDir, `${stamp}.json`);
  const json = {
    startedAt: new Date(started).toISOString(),
    finishedAt: new Date().toISOString(),
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? null, node: process.version, platform: process.platform },
    tools: { nginx: nginx?.version ?? null, wrk, taskset: hasTaskset() },
    commit: gitCommit(),
    options: o,
    targets: TARGETS,
    peakRssMethod: 'fresh proxy/nginx processes per scenario run; VmHWM of each measured process read after the last load',
    summaries,
    checks,
    runs,
  };
  writeFileSync(file, `${JSON.stringify(json, null, 2)}\n`);
  out.push('');
  out.push(`full results: ${file}`);
  process.stdout.write(`${out.join('\n')}\n`);
  if (failedRuns.length > 0) process.stdout.write(`logs and bootstraps of the runs kept in ${workDir}\n`);
  else rmSync(workDir, { recursive: true, force: true });
  return failedRuns.length > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  async (err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    await Promise.all([...cleanups].map((c) => c()));
    process.exit(1);
  },
);
