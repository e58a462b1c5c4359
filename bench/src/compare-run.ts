// `npm run bench -- --base REV`: the proxy scenarios with a base revision's build and the
// current tree's, interleaved in one run against one upstream; prints base vs current and
// the one-hop verdict, writes bench/results/<timestamp>-base-<sha>.json.
import { mkdirSync, mkdtempSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { prepareBase, type BaseBuild } from './base-build.js';
import { finishRun, log, startedAt, startUpstream, stopOnSignals } from './bench-session.js';
import { compare, comparisonTable, medianSampleRatio, noiseNote, oneHopVerdict, sampleRatiosText, type BuildName, type CompareRun } from './compare-table.js';
import { gitCommit, hasUncommittedChanges } from './git.js';
import { runAutocannon } from './loads.js';
import type { Options } from './options.js';
import { repoRoot, resultsDir } from './paths.js';
import { probeIstioMetrics, type MetricsSupport } from './metrics-probe.js';
import { hasTaskset } from './processes.js';
import { proxyCommand } from './proxy.js';
import { summarize } from './results.js';
import { runScenario } from './scenario-run.js';
import { SCENARIO_LABEL, type Environment } from './scenarios.js';
import { TARGETS } from './targets.js';

const METRICS_OFF: MetricsSupport = { on: false, note: 'not asked for (--metrics)' };

/** exit code when every run worked but the current build is below the base */
export const EXIT_VERDICT_FAILED = 3;

/**
 * The order of the two builds in repetition `rep` (1-based): base first in odd repetitions,
 * current first in even ones, so a drift that favours the later run favours neither build.
 */
export function buildOrder(rep: number): BuildName[] {
  return rep % 2 === 1 ? ['base', 'current'] : ['current', 'base'];
}

export async function runComparison(o: Options, wrk: string | null): Promise<number> {
  if (o.base === null) throw new Error('runComparison needs --base');
  let base: BaseBuild;
  try {
    base = await prepareBase(o.base, log);
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    return 2;
  }
  const currentCommit = gitCommit();
  const current = `${repoRoot} at ${currentCommit ?? '?'}${hasUncommittedChanges() ? ' + uncommitted changes' : ''}`;
  const cmd: Record<BuildName, string[]> = { base: proxyCommand(base.root), current: o.proxyCmd };
  const short = base.sha.slice(0, 12);

  const loadsPerRun = 1 + (wrk !== null ? 1 : 0) + 1;
  const totalSteps = o.reps * o.only.length * 2;
  const estimateS = totalSteps * (o.warmupS + loadsPerRun * (o.loadS + 1) + 2);
  log(`minimesh bench, base vs current: ${o.only.join(', ')} × 2 builds × ${o.reps} repetition(s), ${o.loadS} s loads, about ${Math.ceil(estimateS / 60)} min`);
  log(`base:    ${base.rev} (${short}): ${cmd.base.join(' ')}`);
  log(`current: ${current}: ${cmd.current.join(' ')}`);
  log('interleaved: each repetition runs each scenario with both builds back to back (base, current; then current, base)');
  log(`placement: upstream + proxies on CPU ${o.cpuUnderTest}, load generators on CPU ${o.cpuLoad}`);
  if (o.profileDir !== null) log(`profiling: profiles go to ${o.profileDir}/base and ${o.profileDir}/current`);

  const workDir = mkdtempSync(join(tmpdir(), 'minimesh-bench-'));
  stopOnSignals();
  const upstream = await startUpstream(o.cpuUnderTest);
  const runs: CompareRun[] = [];
  const metrics: Record<BuildName, MetricsSupport> = { base: METRICS_OFF, current: METRICS_OFF };
  try {
    if (o.metrics) {
      for (const build of ['base', 'current'] as const) {
        metrics[build] = await probeIstioMetrics(cmd[build], o.cpuUnderTest, upstream.port, workDir);
        log(`metrics: ${build} ${metrics[build].on ? 'on' : 'OFF'}: ${metrics[build].note}`);
      }
      if (!metrics.current.on) log('metrics: the current build records no Istio metrics: the verdict does not say what recording them costs');
    }
    // the first measured run must not pay for the upstream's own JIT warm-up (the plain bench's `direct` absorbs it)
    log(`warm-up of the upstream: autocannon straight to it, 10 connections, ${2 * o.warmupS} s (not measured)`);
    await runAutocannon(o.cpuLoad, upstream.port, 10, 2 * o.warmupS);
    let step = 0;
    for (let rep = 1; rep <= o.reps; rep++) {
      for (const name of o.only) {
        for (const build of buildOrder(rep)) {
          step++;
          log(`step ${step}/${totalSteps} · repetition ${rep}/${o.reps} · ${SCENARIO_LABEL[name]} · ${build}${build === 'base' ? ` (${short})` : ''}`);
          const dir = join(workDir, `${rep}-${name}-${build}`);
          mkdirSync(dir, { recursive: true });
          const profileDir = o.profileDir === null ? null : join(o.profileDir, build);
          if (profileDir !== null) mkdirSync(profileDir, { recursive: true });
          const env: Environment = { upstreamPort: upstream.port, cpuUnderTest: o.cpuUnderTest, proxyCmd: cmd[build], nginx: null, dir, profileDir, istioMetrics: metrics[build].on };
          runs.push({ ...(await runScenario(o, name, rep, env, upstream.proc.pid, wrk !== null)), build });
        }
      }
    }
  } finally {
    await upstream.stop();
  }

  const summaries = { base: summarize(runs.filter((r) => r.build === 'base'), o.only), current: summarize(runs.filter((r) => r.build === 'current'), o.only) };
  const rows = compare(summaries.base, summaries.current, runs);
  const verdict = oneHopVerdict(rows);
  const failedRuns = runs.filter((r) => r.error !== null);

  const out: string[] = [''];
  out.push(`base = ${base.rev} (${short}), current = ${current}`);
  out.push(`Median of ${o.reps} sample(s) per build. req/s at full load (autocannon, ${o.throughputConnections} connections); current/base = ratio of those medians;`);
  out.push(`latency at a steady ${o.steadyRate} req/s over ${o.steadyConnections} connections; CPU-s/10k at full load, summed over the proxy processes.`);
  out.push('');
  out.push(comparisonTable(rows));
  out.push('');
  for (const r of rows) out.push(`${SCENARIO_LABEL[r.scenario]}: current/base req/s per sample: ${sampleRatiosText(r)}`);
  for (const note of rows.map((r) => noiseNote(r))) if (note !== null) out.push(note);
  if (o.reps < 3) out.push(`note: ${o.reps} sample(s) per build: use --reps 3 or more (and 10 s loads) for a verdict to rely on`);
  const metricsText = o.metrics ? `metrics: base ${metrics.base.on ? 'on' : 'off'}, current ${metrics.current.on ? 'on' : 'off'}` : 'metrics off in both (--metrics turns them on)';
  out.push(verdict === null ? `no verdict: the requirement is on ${SCENARIO_LABEL.proxy1} (add proxy1 to --only)` : `${verdict.line} · ${metricsText}`);
  for (const r of failedRuns) out.push(`failed: ${SCENARIO_LABEL[r.scenario]} · ${r.build} · repetition ${r.rep}: ${r.error?.split('\n')[0]}`);

  mkdirSync(resultsDir, { recursive: true });
  const file = join(resultsDir, `${new Date(startedAt).toISOString().replace(/[:.]/g, '-')}-base-${short}.json`);
  const json = {
    kind: 'base-vs-current',
    startedAt: new Date(startedAt).toISOString(),
    finishedAt: new Date().toISOString(),
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? null, node: process.version, platform: process.platform },
    tools: { wrk, taskset: hasTaskset() },
    base: { ...base, proxyCmd: cmd.base, istioMetrics: metrics.base },
    current: { root: repoRoot, commit: currentCommit, uncommittedChanges: hasUncommittedChanges(), proxyCmd: cmd.current, istioMetrics: metrics.current },
    interleaving: 'per repetition and scenario: base then current in odd repetitions, current then base in even ones',
    options: o,
    target: { scenario: 'proxy1', currentToBaseRpsAtLeast: TARGETS.currentToBaseRatio },
    verdict,
    comparison: rows.map((r) => ({ scenario: r.scenario, rpsRatio: r.rpsRatio, wrkRpsRatio: r.wrkRpsRatio, sampleRatios: r.sampleRatios, medianSampleRatio: medianSampleRatio(r) })),
    summaries,
    runs,
  };
  if (finishRun(file, json, out, failedRuns.length, workDir)) return 1;
  return verdict?.pass === false ? EXIT_VERDICT_FAILED : 0;
}
