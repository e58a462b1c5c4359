// `npm run bench`: load the same upstream direct, through one and two minimesh proxies
// and through nginx, interleaved and repeated; print medians and write the full JSON.
// With `--base REV` it compares the proxy scenarios of two builds instead (compare-run.ts).
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { finishRun, log, runCleanups, startedAt, startUpstream, stopOnSignals } from './bench-session.js';
import { runComparison } from './compare-run.js';
import { gitCommit } from './git.js';
import { findNginx } from './nginx.js';
import { parseOptions, USAGE, type Options } from './options.js';
import { resultsDir } from './paths.js';
import { hasTaskset } from './processes.js';
import { summarize, type ScenarioRun } from './results.js';
import { runScenario } from './scenario-run.js';
import { SCENARIO_DESCRIPTION, SCENARIO_LABEL, type Environment } from './scenarios.js';
import { fullLoadTable, mainTable, targetsTable } from './table.js';
import { checkTargets, TARGETS } from './targets.js';
import { wrkVersion } from './wrk.js';

const INSTALL_HINT = 'apt-get install -y nginx-light wrk';
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
  if (o.base !== null) return runComparison(o, wrk);

  const loadsPerRun = 1 + (wrk !== null ? 1 : 0) + 1;
  const totalSteps = o.reps * o.only.length;
  const estimateS = totalSteps * (o.warmupS + loadsPerRun * (o.loadS + 1) + 2);
  log(`minimesh bench: ${o.only.join(', ')} × ${o.reps} repetition(s), ${o.loadS} s loads, about ${Math.ceil(estimateS / 60)} min`);
  log(`placement: upstream + proxies/nginx on CPU ${o.cpuUnderTest}, load generators on CPU ${o.cpuLoad}`);
  log(`proxy command: ${o.proxyCmd.join(' ')} proxy --bootstrap FILE --health-port off`);
  if (o.metrics) log('metrics: the proxies\' bootstraps carry Istio\'s filters (istio.metadata_exchange, istio.stats)');

  if (o.profileDir !== null) {
    mkdirSync(o.profileDir, { recursive: true });
    log(`profiling: proxies run under node --cpu-prof, profiles go to ${o.profileDir} (figures are slower than without)`);
  }
  const workDir = mkdtempSync(join(tmpdir(), 'minimesh-bench-'));
  stopOnSignals();
  const upstream = await startUpstream(o.cpuUnderTest);

  const runs: ScenarioRun[] = [];
  try {
    let step = 0;
    for (let rep = 1; rep <= o.reps; rep++) {
      for (const name of o.only) {
        step++;
        log(`step ${step}/${totalSteps} · repetition ${rep}/${o.reps} · ${SCENARIO_LABEL[name]}: ${SCENARIO_DESCRIPTION[name]}`);
        const dir = join(workDir, `${rep}-${name}`);
        mkdirSync(dir, { recursive: true });
        const env: Environment = { upstreamPort: upstream.port, cpuUnderTest: o.cpuUnderTest, proxyCmd: o.proxyCmd, nginx, dir, profileDir: o.profileDir, istioMetrics: o.metrics };
        runs.push(await runScenario(o, name, rep, env, upstream.proc.pid, wrk !== null));
      }
    }
  } finally {
    await upstream.stop();
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
  const stamp = new Date(startedAt).toISOString().replace(/[:.]/g, '-');
  const file = join(resultsDir, `${stamp}.json`);
  const json = {
    startedAt: new Date(startedAt).toISOString(),
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
  return finishRun(file, json, out, failedRuns.length, workDir) ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  async (err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    await runCleanups();
    process.exit(1);
  },
);
