// `npm run bench:xds`: how fast a config change reaches every proxy of a fleet.
//
// For each fleet size N: the real `minimesh control-plane` CLI on a folder of YAML (pinned to
// CPU 0), N simulated sidecars in one process (xds-fleet.ts, pinned to CPU 1, with this
// orchestrator). Once every proxy has ACKed its initial config, the `reviews` VirtualService file
// is rewritten (v1 100 / v2 0 -> 0 / 100); t0 is taken right before the write. A proxy has
// converged when it writes the ACK of the new RDS version. Reported: p50/p99/max of (ACK - t0),
// when the control plane noticed the file and re-read the folder (from its /proc/PID/io read
// counter), when the first proxy received something, the control plane's CPU seconds for the
// change and for the initial sync, and its peak RSS (VmHWM).
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { selfTimes, type CpuProfile } from './cpuprofile.js';
import { minimeshCli, repoRoot, resultsDir } from './paths.js';
import { freePorts } from './ports.js';
import { cpuSeconds, peakRssKb } from './proc-stats.js';
import { hasTaskset, spawnPinned, waitFor200 } from './processes.js';
import { sleep } from './stats.js';
import { reviewsVsYaml, VS_FILE, writeConfigDir } from './xds-config.js';
import type { FleetReport } from './xds-fleet.js';
import { Fleet, stopProcess } from './xds-fleet-process.js';

export const TARGET_MS = 1000;

export interface XdsBenchOptions {
  /** fleet sizes, run one after the other on fresh processes */
  proxies: number[];
  /** gRPC channels (TCP connections) for the fleet; default one per proxy */
  channels?: number;
  /** give up waiting for convergence after this long (ms) */
  timeoutMs: number;
  /** `--debounce-ms` for the control plane (default: its own, 100,1000) */
  debounceMs?: string;
  /** run the control plane under `node --cpu-prof`, profiles into this folder */
  profileDir?: string;
  /** keep the temp folders (config, logs) */
  keep?: boolean;
  /** the minimesh CLI to run as `node CLI control-plane …` (default: this repository's) */
  cli?: string;
}

export interface XdsRun {
  proxies: number;
  channels: number;
  /** null when every proxy converged */
  error: string | null;
  converged: number;
  /** ms from the first connect until every proxy had ACKed its initial config */
  syncMs: number;
  /** ms after t0 */
  writeMs: number;
  noticedMs: number | null;
  rescanMs: number | null;
  firstPushMs: number | null;
  p50: number | null;
  p99: number | null;
  max: number | null;
  /** ms from the new RDS response's arrival to its ACK (the fleet's own delay), p50/max */
  fleetDelayP50: number | null;
  fleetDelayMax: number | null;
  /** distinct new RDS versions seen (1 expected) and responses by type after the change */
  newVersions: string[];
  responsesAfterChange: Record<string, number>;
  /** control plane CPU seconds: connecting and syncing N proxies; the change until quiet */
  cpSyncCpuS: number | null;
  cpChangeCpuS: number | null;
  /** fleet CPU seconds during the change (to judge whether the fleet kept up) */
  fleetChangeCpuS: number | null;
  cpPeakRssKb: number | null;
  fleetPeakRssKb: number | null;
  /** top self-time entries of the control plane's profile, with --profile */
  profile?: { name: string; location: string; selfMs: number; pct: number }[];
  profileFile?: string;
  workDir: string | null;
}

type Log = (line: string) => void;

function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

function rcharOf(pid: number): number | null {
  try {
    const m = /^rchar:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/io`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/**
 * Watches the control plane's read counter from t0: its first read after the write is the
 * inotify event (fs.watch), the first read at least as large as the file is the folder re-scan.
 * Polls every ~1 ms until the re-scan (or `maxMs`); the proxies are idle meanwhile.
 */
async function watchReads(pid: number, before: number | null, t0: bigint, fileBytes: number, maxMs: number): Promise<{ noticedMs: number | null; rescanMs: number | null }> {
  let last = before;
  let noticedMs: number | null = null;
  let rescanMs: number | null = null;
  const end = Date.now() + maxMs;
  while (last !== null && rescanMs === null && Date.now() < end) {
    await sleep(1);
    const now = rcharOf(pid);
    if (now === null) break;
    if (now > last) {
      const at = Number(process.hrtime.bigint() - t0) / 1e6;
      noticedMs ??= at;
      if (now - last >= fileBytes) rescanMs = at;
    }
    last = now;
  }
  return { noticedMs, rescanMs };
}

/** CPU seconds of pid, read again until two readings 150 ms apart agree (at most maxMs) */
async function cpuWhenQuiet(pid: number, maxMs: number): Promise<number | null> {
  let prev = cpuSeconds(pid);
  const end = Date.now() + maxMs;
  while (prev !== null && Date.now() < end) {
    await sleep(150);
    const now = cpuSeconds(pid);
    if (now === prev) return now;
    prev = now;
  }
  return prev;
}

export async function runOne(n: number, o: XdsBenchOptions, log: Log): Promise<XdsRun> {
  const channels = o.channels ?? n;
  const work = mkdtempSync(join(tmpdir(), `minimesh-bench-xds-${n}-`));
  const configDir = join(work, 'config');
  writeConfigDir(configDir);
  const [xdsPort, debugPort] = await freePorts(2);
  const nodeArgs = o.profileDir !== undefined ? ['--cpu-prof', `--cpu-prof-dir=${o.profileDir}`] : [];
  if (o.profileDir !== undefined) mkdirSync(o.profileDir, { recursive: true });
  const profilesBefore = o.profileDir !== undefined ? new Set(readdirSync(o.profileDir)) : new Set<string>();
  const cpArgs = [...nodeArgs, o.cli ?? minimeshCli, 'control-plane', '--config-dir', configDir, '--xds-address', `127.0.0.1:${xdsPort}`, '--debug-address', `127.0.0.1:${debugPort}`, '--dashboard-address', 'off'];
  if (o.debounceMs !== undefined) cpArgs.push('--debounce-ms', o.debounceMs);
  const cp = spawnPinned('0', process.execPath, cpArgs, join(work, 'control-plane.log'));
  const run: XdsRun = {
    proxies: n,
    channels,
    error: null,
    converged: 0,
    syncMs: 0,
    writeMs: 0,
    noticedMs: null,
    rescanMs: null,
    firstPushMs: null,
    p50: null,
    p99: null,
    max: null,
    fleetDelayP50: null,
    fleetDelayMax: null,
    newVersions: [],
    responsesAfterChange: {},
    cpSyncCpuS: null,
    cpChangeCpuS: null,
    fleetChangeCpuS: null,
    cpPeakRssKb: null,
    fleetPeakRssKb: null,
    workDir: work,
  };
  let fleet: Fleet | undefined;
  try {
    await waitFor200(`http://127.0.0.1:${debugPort}/ready`, cp, 30_000, 'control plane');
    const cpu0 = cpuSeconds(cp.pid);
    log(`  connecting ${n} proxies (${channels === n ? 'one gRPC channel each' : `${channels} gRPC channels`}) …`);
    fleet = new Fleet(`127.0.0.1:${xdsPort}`, n, channels, (m) => log(`    ${m.connected} connected, ${m.synced} synced${Number(m.errors) > 0 ? `, ${m.errors} stream errors` : ''}`));
    const synced = await fleet.next<{ syncMs: number; errors: number }>(['synced'], Math.max(30_000, n * 100));
    run.syncMs = synced.syncMs;
    log(`  all ${n} synced in ${synced.syncMs.toFixed(0)} ms`);
    await cpuWhenQuiet(cp.pid, 5000);
    await sleep(300);
    const cpu1 = cpuSeconds(cp.pid);
    run.cpSyncCpuS = cpu0 !== null && cpu1 !== null ? cpu1 - cpu0 : null;

    fleet.send('mark');
    await fleet.next(['marked'], 5000);
    const fleetCpu0 = cpuSeconds(fleet.pid);
    const vs = reviewsVsYaml(0);
    const rchar0 = rcharOf(cp.pid);
    const t0 = process.hrtime.bigint();
    writeFileSync(join(configDir, VS_FILE), vs);
    run.writeMs = Number(process.hrtime.bigint() - t0) / 1e6;
    log(`  change written (reviews: v1 100 → v2 100) …`);
    const converged = fleet.next<FleetReport>(['converged', 'report'], o.timeoutMs + 5000);
    const reads = await watchReads(cp.pid, rchar0, t0, Buffer.byteLength(vs), Math.min(o.timeoutMs, 3000));
    run.noticedMs = reads.noticedMs;
    run.rescanMs = reads.rescanMs;
    const timer = setTimeout(() => fleet?.send('report'), Math.max(0, o.timeoutMs - Number(process.hrtime.bigint() - t0) / 1e6));
    const report = await converged;
    clearTimeout(timer);
    const cpu2 = await cpuWhenQuiet(cp.pid, 5000);
    const fleetCpu1 = cpuSeconds(fleet.pid);
    run.cpChangeCpuS = cpu1 !== null && cpu2 !== null ? cpu2 - cpu1 : null;
    run.fleetChangeCpuS = fleetCpu0 !== null && fleetCpu1 !== null ? fleetCpu1 - fleetCpu0 : null;

    const ms = (ns: string | null): number | null => (ns === null ? null : Number(BigInt(ns) - t0) / 1e6);
    const acks = report.proxies.map((p) => ms(p.ackNs)).filter((v): v is number => v !== null).sort((a, b) => a - b);
    const delays = report.proxies.filter((p) => p.ackNs !== null && p.recvNs !== null).map((p) => Number(BigInt(p.ackNs!) - BigInt(p.recvNs!)) / 1e6).sort((a, b) => a - b);
    const firsts = report.proxies.map((p) => ms(p.firstRecvNs)).filter((v): v is number => v !== null);
    run.converged = acks.length;
    run.p50 = percentile(acks, 50);
    run.p99 = percentile(acks, 99);
    run.max = acks.length > 0 ? acks[acks.length - 1] : null;
    run.fleetDelayP50 = percentile(delays, 50);
    run.fleetDelayMax = delays.length > 0 ? delays[delays.length - 1] : null;
    run.firstPushMs = firsts.length > 0 ? Math.min(...firsts) : null;
    run.newVersions = [...new Set(report.proxies.map((p) => p.version).filter((v): v is string => v !== null))];
    for (const p of report.proxies) for (const [t, c] of Object.entries(p.afterMark)) run.responsesAfterChange[t] = (run.responsesAfterChange[t] ?? 0) + c;
    if (run.converged < n) run.error = `${n - run.converged} of ${n} proxies did not ACK a new RDS version within ${o.timeoutMs} ms`;
    log(run.error === null ? `  converged: all ${n} ACKed the new routes, last ${run.max!.toFixed(0)} ms after the write` : `  ${run.error}`);
    run.fleetPeakRssKb = peakRssKb(fleet.pid);
  } catch (e) {
    run.error = (e as Error).message;
    log(`  failed: ${run.error}`);
  } finally {
    run.cpPeakRssKb = peakRssKb(cp.pid);
    await fleet?.quit();
    await stopProcess(cp, 10_000);
  }
  if (o.profileDir !== undefined) {
    const file = readdirSync(o.profileDir).find((f) => f.endsWith('.cpuprofile') && !profilesBefore.has(f));
    if (file !== undefined) {
      run.profileFile = join(o.profileDir, file);
      const { rows, totalMs } = selfTimes(JSON.parse(readFileSync(run.profileFile, 'utf8')) as CpuProfile);
      const busy = totalMs - rows.filter((r) => r.name === '(idle)').reduce((s, r) => s + r.selfMs, 0);
      run.profile = rows
        .filter((r) => r.name !== '(idle)')
        .slice(0, 15)
        .map((r) => ({ name: r.name, location: r.location, selfMs: r.selfMs, pct: (100 * r.selfMs) / busy }));
    }
  }
  if (run.error === null && !o.keep) {
    rmSync(work, { recursive: true, force: true });
    run.workDir = null;
  } else {
    log(`  config and control-plane log kept in ${work}`);
  }
  return run;
}

export async function runXdsBench(o: XdsBenchOptions, log: Log): Promise<XdsRun[]> {
  const runs: XdsRun[] = [];
  for (const n of o.proxies) {
    log(`bench:xds: ${n} proxies`);
    runs.push(await runOne(n, o, log));
  }
  return runs;
}

const f = (v: number | null, digits = 0): string => (v === null ? '—' : v.toFixed(digits));

export function formatTable(runs: readonly XdsRun[]): string {
  const head = ['proxies', 'channels', 'synced in', 'noticed', 're-read', '1st push', 'p50', 'p99', 'max', 'CP CPU change', 'CP CPU sync', 'CP peak RSS', `≤ ${TARGET_MS} ms`];
  const rows = runs.map((r) => [
    String(r.proxies),
    String(r.channels),
    `${f(r.syncMs)} ms`,
    `${f(r.noticedMs, 1)} ms`,
    `${f(r.rescanMs, 1)} ms`,
    `${f(r.firstPushMs)} ms`,
    `${f(r.p50)} ms`,
    `${f(r.p99)} ms`,
    `${f(r.max)} ms`,
    `${f(r.cpChangeCpuS, 2)} s`,
    `${f(r.cpSyncCpuS, 2)} s`,
    `${f(r.cpPeakRssKb === null ? null : r.cpPeakRssKb / 1024)} MB`,
    r.error !== null ? `✗ ${r.converged}/${r.proxies}` : r.max !== null && r.max <= TARGET_MS ? '✓' : '✗',
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

function pinSelf(cpu: string): void {
  if (hasTaskset()) spawnSync('taskset', ['-a', '-pc', cpu, String(process.pid)], { stdio: 'ignore' });
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      proxies: { type: 'string', default: '100,1000' },
      channels: { type: 'string' },
      'timeout-s': { type: 'string', default: '30' },
      'debounce-ms': { type: 'string' },
      profile: { type: 'string' },
      keep: { type: 'boolean', default: false },
      'control-plane': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`Usage: npm run bench:xds -- [--proxies 100,1000] [--channels N] [--timeout-s 30] [--debounce-ms Q,MAX] [--profile DIR] [--keep] [--control-plane path/to/minimesh.js]\n`);
    return 0;
  }
  const o: XdsBenchOptions = {
    proxies: values.proxies.split(',').map((s) => Number(s.trim())).filter((x) => Number.isInteger(x) && x > 0),
    channels: values.channels === undefined ? undefined : Number(values.channels),
    timeoutMs: Number(values['timeout-s']) * 1000,
    debounceMs: values['debounce-ms'],
    profileDir: values.profile,
    keep: values.keep,
    cli: values['control-plane'],
  };
  if (!hasTaskset()) process.stderr.write('bench:xds: taskset not found (util-linux); running unpinned\n');
  pinSelf('1');
  const log = (l: string): void => {
    process.stderr.write(`${l}\n`);
  };
  const runs = await runXdsBench(o, log);
  const out = [
    '',
    `bench:xds — a VirtualService file rewritten; ms from the write until each proxy ACKed the new routes (RDS)`,
    '',
    formatTable(runs),
    '',
    'noticed: first read by the control plane after the write (its inotify event); re-read: it read the folder again;',
    '1st push: first response any proxy received; p50/p99/max: the proxies’ ACKs of the new RDS version.',
    'CP CPU change: control-plane CPU seconds from the write until quiet; sync: connecting and syncing all proxies.',
  ];
  for (const r of runs) {
    const extra = [
      `N=${r.proxies}: new RDS versions ${r.newVersions.length} (${r.newVersions.join(', ') || 'none'}), responses after the change ${JSON.stringify(r.responsesAfterChange)},`,
      `  fleet's own receive→ACK delay p50 ${f(r.fleetDelayP50, 2)} ms max ${f(r.fleetDelayMax, 2)} ms, fleet CPU during the change ${f(r.fleetChangeCpuS, 2)} s, fleet peak RSS ${f(r.fleetPeakRssKb === null ? null : r.fleetPeakRssKb / 1024)} MB`,
    ];
    out.push(...extra);
    if (r.profile) {
      out.push(`  control-plane profile ${r.profileFile} (self time, share of busy time):`);
      for (const p of r.profile) out.push(`    ${p.selfMs.toFixed(1).padStart(8)} ms ${p.pct.toFixed(1).padStart(5)} %  ${p.name}  ${p.location}`);
    }
  }
  process.stdout.write(`${out.join('\n')}\n`);
  mkdirSync(resultsDir, { recursive: true });
  const file = join(resultsDir, `xds-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify({ bench: 'xds', at: new Date().toISOString(), node: process.version, taskset: hasTaskset(), targetMs: TARGET_MS, options: o, repoRoot, runs }, null, 2)}\n`);
  process.stdout.write(`\nresults: ${file}\n`);
  return runs.every((r) => r.error === null) ? 0 : 1;
}

if (process.argv[1] !== undefined && import.meta.url === (await import('node:url')).pathToFileURL(process.argv[1]).href) {
  process.exitCode = await main();
}
