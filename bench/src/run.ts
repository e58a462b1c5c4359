// `npm run bench`: load the same upstream direct, through one and two minimesh proxies
// and through nginx, interleaved and repeated; the same over h2 and gRPC (no nginx there);
// print medians and write the full JSON.
// With `--base REV` it compares the proxy scenarios of two builds instead (compare-run.ts).
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { finishRun, log, runCleanups, startedAt, startUpstream, stopOnSignals, type Upstream } from './bench-session.js';
import { runComparison } from './compare-run.js';
import { gitCommit } from './git.js';
import { H2LOAD_INSTALL_HINT, h2loadVersion } from './h2load.js';
import { findNginx } from './nginx.js';
import { parseOptions, USAGE, type Options } from './options.js';
import { resultsDir, standinProxy } from './paths.js';
import { writeMeshCerts, type MeshCertFiles } from './mesh-certs.js';
import { mtlsComparisons, mtlsSection } from './mtls-table.js';
import { hasTaskset } from './processes.js';
import { runProtocolScenario, summarizeProtocolRuns, type MuxProtocol, type ProtocolRun } from './protocol-run.js';
import { http1Rows, protocolSection } from './protocol-table.js';
import { PROTOCOL_LABEL, scenariosFor, UPSTREAM_PROGRAM, type Protocol } from './protocols.js';
import { summarize, type ScenarioRun, type ScenarioSummary } from './results.js';
import { runScenario } from './scenario-run.js';
import { SCENARIO_DESCRIPTION, SCENARIO_LABEL, type Environment } from './scenarios.js';
import { fullLoadTable, mainTable, targetsTable } from './table.js';
import { checkTargets, TARGETS, type Check } from './targets.js';
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
  const nginx = o.only.includes('nginx') && o.protocols.includes('http1') ? findNginx() : null;
  if (o.only.includes('nginx') && o.protocols.includes('http1') && nginx === null) {
    log(`nginx is not installed: skipping the nginx scenario. Install it with: ${INSTALL_HINT}`);
    o.only = o.only.filter((s) => s !== 'nginx');
  }
  const h2load = o.protocols.includes('h2') ? h2loadVersion() : null;
  if (o.protocols.includes('h2') && h2load === null) {
    log(`h2load is not installed: skipping the h2 row. Install it with: ${H2LOAD_INSTALL_HINT}`);
    o.protocols = o.protocols.filter((p) => p !== 'h2');
  }
  if (o.proxyCmd.includes(standinProxy) && o.protocols.some((p) => p !== 'http1')) {
    log('the stand-in proxy speaks HTTP/1.1 only: skipping the h2 and gRPC rows');
    o.protocols = o.protocols.filter((p) => p === 'http1');
  }
  if (o.proxyCmd.includes(standinProxy) && o.only.includes('proxy2-mtls')) {
    log('the stand-in proxy has no TLS: skipping the proxy2-mtls scenario');
    o.only = o.only.filter((s) => s !== 'proxy2-mtls');
  }
  const wrk = o.useWrk && o.protocols.includes('http1') ? wrkVersion() : null;
  if (o.useWrk && o.protocols.includes('http1') && wrk === null) log(`wrk is not installed: skipping the wrk load. Install it with: ${INSTALL_HINT}`);
  if (!hasTaskset()) log('taskset not found (util-linux): processes are NOT pinned to CPUs; figures will be noisier');
  if (o.cpuLoad === o.cpuUnderTest) log('fewer than 2 CPUs: the load generator shares the CPU with the processes under test');
  const proxyScript = o.proxyCmd.find((a) => a.endsWith('.js'));
  if (o.only.some((s) => s !== 'direct' && s !== 'nginx') && proxyScript !== undefined && proxyScript.endsWith('.js') && !existsSync(proxyScript)) {
    log(`${proxyScript} does not exist: the proxy scenarios will fail (build first; --proxy-cmd standin exercises the harness with a test double)`);
  }
  if (o.base !== null && o.only.length > 0) return runComparison(o, wrk);
  const rows = o.protocols.map((p) => ({ protocol: p, scenarios: scenariosFor(p, o.only) })).filter((r) => r.scenarios.length > 0);
  if (rows.length === 0) {
    log('no scenario to run');
    return 2;
  }

  const loadsPerRun = (p: Protocol): number => (p === 'http1' ? 1 + (wrk !== null ? 1 : 0) + 1 : 1);
  const totalSteps = o.reps * rows.reduce((n, r) => n + r.scenarios.length, 0);
  const estimateS = o.reps * rows.reduce((n, r) => n + r.scenarios.length * (o.warmupS + loadsPerRun(r.protocol) * (o.loadS + 1) + 2), 0);
  log(`minimesh bench: ${rows.map((r) => `${PROTOCOL_LABEL[r.protocol]} ${r.scenarios.join(', ')}`).join('; ')} × ${o.reps} repetition(s), ${o.loadS} s loads, about ${Math.ceil(estimateS / 60)} min`);
  if (o.cpuProxy === null) log(`placement: upstream + proxies/nginx on CPU ${o.cpuUnderTest}, load generators on CPU ${o.cpuLoad}`);
  else log(`placement: upstream + nginx on CPU ${o.cpuUnderTest}, minimesh proxies and the byte pump on CPU ${o.cpuProxy}, load generators on CPU ${o.cpuLoad}`);
  if (o.concurrency !== null) log(`concurrency: each minimesh proxy runs --concurrency ${o.concurrency}`);
  log(`proxy command: ${o.proxyCmd.join(' ')} proxy --bootstrap FILE --health-port off`);
  if (o.metrics) log('metrics: the proxies\' bootstraps carry Istio\'s filters (istio.metadata_exchange, istio.stats)');

  if (o.profileDir !== null) {
    mkdirSync(o.profileDir, { recursive: true });
    log(`profiling: proxies run under node --cpu-prof, profiles go to ${o.profileDir} (figures are slower than without)`);
  }
  const workDir = mkdtempSync(join(tmpdir(), 'minimesh-bench-'));
  stopOnSignals();
  const upstreams = new Map<Protocol, Upstream>();
  const runs: ScenarioRun[] = [];
  const protocolRuns: ProtocolRun[] = [];
  let meshCerts: MeshCertFiles | null = null;
  try {
    if (rows.some((r) => r.scenarios.includes('proxy2-mtls'))) {
      meshCerts = await writeMeshCerts(workDir);
      log(`mTLS: a root and the workload certificates ${meshCerts.client.spiffe}, ${meshCerts.server.spiffe} in ${workDir}`);
    }
    for (const r of rows) upstreams.set(r.protocol, await startUpstream(o.cpuUnderTest, UPSTREAM_PROGRAM[r.protocol], `${PROTOCOL_LABEL[r.protocol]} upstream`));
    let step = 0;
    for (let rep = 1; rep <= o.reps; rep++) {
      for (const { protocol, scenarios } of rows) {
        const upstream = upstreams.get(protocol) as Upstream;
        for (const name of scenarios) {
          step++;
          const what = protocol === 'http1' ? '' : `${PROTOCOL_LABEL[protocol]} · `;
          log(`step ${step}/${totalSteps} · repetition ${rep}/${o.reps} · ${what}${SCENARIO_LABEL[name]}: ${SCENARIO_DESCRIPTION[name]}`);
          const dir = join(workDir, `${rep}-${protocol}-${name}`);
          mkdirSync(dir, { recursive: true });
          const env: Environment = { upstreamPort: upstream.port, cpuUnderTest: o.cpuUnderTest, proxyCmd: o.proxyCmd, nginx, dir, profileDir: o.profileDir, istioMetrics: o.metrics, meshCerts, ...(o.cpuProxy !== null ? { cpuProxy: o.cpuProxy } : {}), proxyArgs: o.concurrency !== null ? ['--concurrency', String(o.concurrency)] : [] };
          if (protocol === 'http1') runs.push(await runScenario(o, name, rep, env, upstream.proc.pid, wrk !== null));
          else protocolRuns.push(await runProtocolScenario(o, protocol, name, rep, env, upstream.proc.pid));
        }
      }
    }
  } finally {
    await Promise.all([...upstreams.values()].map((u) => u.stop()));
  }

  const http1 = rows.find((r) => r.protocol === 'http1');
  const summaries = http1 === undefined ? [] : summarize(runs, http1.scenarios);
  const checks = checkTargets(summaries);
  const protocolSummaries = [
    ...http1Rows(summaries),
    ...rows.filter((r) => r.protocol !== 'http1').flatMap((r) => summarizeProtocolRuns(protocolRuns, r.protocol as MuxProtocol, r.scenarios)),
  ];
  const failedRuns = [...runs, ...protocolRuns].filter((r) => r.error !== null);
  const mtls = mtlsComparisons(summaries, runs, protocolSummaries, protocolRuns);

  const out: string[] = [];
  if (http1 !== undefined) out.push(...http1Report(o, summaries, checks, wrk !== null));
  if (protocolSummaries.some((s) => s.protocol !== 'http1')) out.push('', ...protocolSection(o, protocolSummaries));
  if (mtls.length > 0) out.push('', ...mtlsSection(mtls));
  for (const r of failedRuns) out.push(`failed: ${'protocol' in r ? `${PROTOCOL_LABEL[r.protocol]} ` : ''}${SCENARIO_LABEL[r.scenario]} repetition ${r.rep}: ${r.error?.split('\n')[0]}`);

  mkdirSync(resultsDir, { recursive: true });
  const stamp = new Date(startedAt).toISOString().replace(/[:.]/g, '-');
  const file = join(resultsDir, `${stamp}.json`);
  const json = {
    startedAt: new Date(startedAt).toISOString(),
    finishedAt: new Date().toISOString(),
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? null, node: process.version, platform: process.platform },
    tools: { nginx: nginx?.version ?? null, wrk, h2load, taskset: hasTaskset() },
    commit: gitCommit(),
    options: o,
    targets: TARGETS,
    peakRssMethod: 'fresh proxy/nginx processes per scenario run; VmHWM of each measured process read after the last load',
    summaries,
    checks,
    runs,
    protocolSummaries,
    protocolRuns,
    mtls,
  };
  return finishRun(file, json, out, failedRuns.length, workDir) ? 1 : 0;
}

/** the HTTP/1.1 report: the main table, both generators' full loads, the targets */
function http1Report(o: Options, summaries: ScenarioSummary[], checks: Check[], withWrk: boolean): string[] {
  const out: string[] = [];
  out.push('');
  out.push(`Results: median of ${o.reps} repetition(s). req/s at full load (autocannon, ${o.throughputConnections} connections);`);
  out.push(`latency at a steady ${o.steadyRate} req/s over ${o.steadyConnections} connections, from the scheduled send time;`);
  out.push('CPU-s/10k at full load, summed over the proxy processes (nginx: its worker); peak RSS = VmHWM of the largest one.');
  out.push(`✓/✗ = target met or not (p50/p99: added latency per hop vs direct; CPU: per hop).`);
  out.push('');
  out.push(mainTable(summaries));
  for (const s of summaries) {
    if (s.peakRssSumMb !== null && s.processes > s.hops) out.push(`${SCENARIO_LABEL[s.scenario]}: peak RSS summed over its ${s.processes} processes: ${s.peakRssSumMb.toFixed(1)} MB`);
  }
  out.push('');
  out.push('Full load details');
  out.push(fullLoadTable(summaries, withWrk));
  if (checks.length > 0) {
    out.push('');
    out.push('Targets');
    out.push(targetsTable(checks));
  }
  for (const s of summaries) {
    if (s.steadyProblems > 0) out.push(`note: ${SCENARIO_LABEL[s.scenario]}: ${s.steadyProblems} steady-load requests failed or did not complete`);
  }
  return out;
}

main().then(
  (code) => process.exit(code),
  async (err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    await runCleanups();
    process.exit(1);
  },
);
