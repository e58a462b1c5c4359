// `npm run bench:soak` (node bench/dist/src/soak.js): the soak test of issue 12. A local mesh
// (soak-mesh.ts) under a constant load (soak-load.ts) through both sidecars for --duration, with a
// config push every --push-every (soak-push.ts) and the server app killed and restarted once;
// samples every 5 s (soak-sampler.ts); table and verdicts (soak-report.ts); JSON results in
// bench/results/soak-<time>.json. Exit code 1 when a verdict fails, 2 on a usage error.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { distProgram, resultsDir } from './paths.js';
import { parseSoakArgs, SOAK_USAGE, SoakUsageError, type SoakOptions } from './soak-options.js';
import { childEnv, CLIENT_POD, SERVER_HOST, SERVER_POD, SoakMesh } from './soak-mesh.js';
import { pushAndConfirm, type PushResult } from './soak-push.js';
import { formatTable, formatVerdicts, sliceRows, sliceSeconds, verdicts, type RestartRecord, type SliceRow, type SoakSecond, type Verdict } from './soak-report.js';
import type { SoakLoadDone, SoakLoadSecond } from './soak-load.js';
import { sampleProc, type Sample } from './soak-sampler.js';
import { sleep } from './stats.js';

export interface SoakResult {
  options: SoakOptions;
  startedAt: string;
  rows: SliceRow[];
  samples: Sample[];
  pushes: PushResult[];
  restart: RestartRecord | null;
  load: SoakLoadDone | null;
  verdicts: Verdict[];
  pass: boolean;
  /** why the run stopped early, if it did */
  error: string | null;
  file: string;
}

const SIDECARS = [`${CLIENT_POD.app} sidecar`, `${SERVER_POD.app} sidecar`];

/** GET through the client sidecar's forward proxy until the server answers 200. */
async function waitForPath(deadlineMs: number): Promise<void> {
  const end = Date.now() + deadlineMs;
  let last = '';
  while (Date.now() < end) {
    const status = await new Promise<number>((done) => {
      const req = request({ host: CLIENT_POD.ip, port: 15001, path: `http://${SERVER_HOST}/`, headers: { host: SERVER_HOST }, agent: false, timeout: 2000 }, (res) => {
        res.resume();
        done(res.statusCode ?? 0);
      });
      req.on('timeout', () => req.destroy());
      req.on('error', () => done(0));
      req.end();
    });
    if (status === 200) return;
    last = String(status);
    await sleep(200);
  }
  throw new Error(`client sidecar -> server: no 200 within ${deadlineMs} ms (last: ${last})`);
}

export async function runSoak(opts: SoakOptions, log: (line: string) => void = console.log): Promise<SoakResult> {
  const startedAt = new Date().toISOString();
  const dir = mkdtempSync(join(tmpdir(), 'minimesh-soak-'));
  const mesh = new SoakMesh(dir);
  const samples: Sample[] = [];
  const seconds: SoakSecond[] = [];
  const pushes: PushResult[] = [];
  let restart: RestartRecord | null = null;
  let loadDone: SoakLoadDone | null = null;
  let error: string | null = null;
  let loadStartMs = 0;
  const timers: NodeJS.Timeout[] = [];
  try {
    await mesh.start();
    await waitForPath(30_000);
    log(`soak: mesh up (logs ${dir}); ${opts.rate} req/s for ${opts.durationS} s over ${opts.connections} connections, push every ${opts.pushEveryS} s, server restart at ${(opts.durationS * opts.restartAt).toFixed(0)} s`);
    const child = spawn(process.execPath, [distProgram('soak-load'), '--host', CLIENT_POD.ip, '--port', '15001', '--target', `http://${SERVER_HOST}/`,
      '--rate', String(opts.rate), '--connections', String(opts.connections), '--duration', String(opts.durationS)], { stdio: ['ignore', 'pipe', 'inherit'], env: childEnv() });
    const tOf = (wallMs: number): number => (wallMs - loadStartMs) / 1000;
    const started = new Promise<void>((onStart) => {
      let buf = '';
      child.stdout.setEncoding('utf8');
      child.stdout.on('data', (c: string) => {
        buf += c;
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const msg = JSON.parse(buf.slice(0, nl)) as { start?: number } & Partial<SoakLoadSecond> & Partial<SoakLoadDone>;
          buf = buf.slice(nl + 1);
          if (msg.start !== undefined) {
            loadStartMs = msg.start;
            onStart();
          } else if (msg.done === true) loadDone = msg as SoakLoadDone;
          else seconds.push({ ...(msg as SoakLoadSecond), t: tOf(msg.at!) });
        }
      });
    });
    let loadEnded = false;
    const exited = new Promise<number | null>((r) =>
      child.once('exit', (code) => {
        loadEnded = true;
        r(code);
      }),
    );
    await Promise.race([started, exited.then((c) => Promise.reject(new Error(`the load exited (${c}) before it started`)))]);

    // samples every 5 s (every 2.5 s when slices are under 25 s, so each holds a few), while the
    // load runs; a progress line per slice-sized window (30 s at most)
    const sampleEvery = sliceSeconds(opts.durationS) >= 25 ? 5 : 2.5;
    const progressEvery = Math.max(5, Math.min(30, Math.floor(sliceSeconds(opts.durationS) / 5) * 5));
    let lastProgress = 0;
    const admin = new Map([[SIDECARS[0], `http://${CLIENT_POD.ip}:15000`], [SIDECARS[1], `http://${SERVER_POD.ip}:15000`]]);
    const takeSample = async (): Promise<void> => {
      const t = Math.round(tOf(Date.now()) * 10) / 10;
      if (t > opts.durationS) return; // the load is draining: not a sample of the steady state
      const pids = child.pid === undefined ? mesh.pids() : [...mesh.pids(), { name: 'load', pid: child.pid }];
      const procs = await Promise.all(pids.map((p) => sampleProc(p.name, p.pid, admin.get(p.name) ?? null)));
      samples.push({ t, procs });
      const dead = mesh.deadProcess();
      if (dead !== null && error === null) {
        error = dead;
        child.kill('SIGTERM');
      }
      if (t - lastProgress >= progressEvery - 1) {
        lastProgress = t;
        log(progressLine(t, progressEvery, procs, seconds));
      }
    };
    timers.push(setInterval(() => void takeSample(), sampleEvery * 1000));
    timers.push(setTimeout(() => {
      const killT = tOf(Date.now());
      log(`soak: t=${killT.toFixed(1)} s: killing the server app (SIGKILL); back in ${opts.restartDownS} s`);
      restart = { killT, readyT: null, graceS: opts.restartGraceS };
      void (async () => {
        await mesh.killServerApp();
        await sleep(opts.restartDownS * 1000);
        await mesh.startServerApp();
        restart!.readyT = tOf(Date.now());
        log(`soak: t=${restart!.readyT.toFixed(1)} s: the server app answers again`);
      })().catch((e: unknown) => (error ??= `restart: ${(e as Error).message}`));
    }, opts.durationS * opts.restartAt * 1000));
    const pushing = (async () => {
      for (let n = 1; n * opts.pushEveryS < opts.durationS && !loadEnded && error === null; n++) {
        const due = loadStartMs + n * opts.pushEveryS * 1000;
        while (Date.now() < due && !loadEnded) await sleep(Math.min(500, due - Date.now()));
        if (loadEnded) break;
        const r = await pushAndConfirm(mesh.configDir, n, `http://${CLIENT_POD.ip}:15000`, tOf(Date.now()));
        pushes.push(r);
        log(`soak: t=${r.t.toFixed(0)} s: push ${n} ${r.reachedMs === null ? 'did NOT reach the client sidecar within 15 s' : `reached the client sidecar in ${r.reachedMs} ms (routes version ${r.version})`}`);
      }
    })();
    const code = await exited;
    if (code !== 0 && error === null) error = `the load exited with ${code}`;
    for (const tm of timers) clearTimeout(tm);
    await pushing;
  } catch (e) {
    error ??= (e as Error).message;
  } finally {
    for (const tm of timers) clearTimeout(tm);
    await mesh.stop();
  }
  const rows = sliceRows(opts.durationS, samples, seconds);
  const vs = verdicts({ durationS: opts.durationS, rate: opts.rate, sidecars: SIDECARS, rows, seconds, loadStartMs, restart, pushes, thresholds: opts.thresholds });
  if (error !== null) vs.push({ name: 'the run completed', pass: false, detail: error });
  mkdirSync(resultsDir, { recursive: true });
  const file = opts.out ?? join(resultsDir, `soak-${startedAt.replace(/[:.]/g, '-')}.json`);
  const result: SoakResult = { options: opts, startedAt, rows, samples, pushes, restart, load: loadDone, verdicts: vs, pass: vs.every((v) => v.pass), error, file };
  writeFileSync(file, `${JSON.stringify({ ...result, seconds }, null, 1)}\n`);
  if (error === null) rmSync(dir, { recursive: true, force: true });
  const table = samples.length === 0 ? '(no samples: the run stopped before its load)' : formatTable(rows, SIDECARS, 'control plane', 'load');
  log(`\n${table}\n\n${formatVerdicts(vs)}\n\nresults: ${file}${error === null ? '' : `\nlogs: ${dir}`}`);
  return result;
}

function progressLine(t: number, windowS: number, procs: Sample['procs'], seconds: readonly SoakSecond[]): string {
  const recent = seconds.filter((s) => s.t > t - windowS && s.t <= t + 0.5);
  const rps = recent.reduce((n, s) => n + s.ok + s.non2xx, 0) / Math.max(1, recent.length);
  const bad = recent.reduce((n, s) => n + s.non2xx + s.errors, 0);
  const queued = recent.length === 0 ? 0 : recent[recent.length - 1].queued;
  const p = procs
    .filter((x) => x.name !== 'load')
    .map((x) => `${x.name.replace(/^soak-/, '')}: RSS ${x.rssMb?.toFixed(1) ?? '-'} MB${x.eldP99Ms === null ? '' : ` ELD p99 ${x.eldP99Ms.toFixed(1)} ms`} fds ${x.fds ?? '-'}`)
    .join(' | ');
  return `soak: t=${t} s  ${p} | last ${windowS} s: ${rps.toFixed(0)} req/s, ${bad} non-2xx, ${queued} queued`;
}

async function main(): Promise<void> {
  let opts;
  try {
    opts = parseSoakArgs(process.argv.slice(2));
  } catch (e) {
    if (!(e instanceof SoakUsageError) && !(e instanceof TypeError)) throw e;
    process.stderr.write(`bench:soak: ${e.message}\n\n${SOAK_USAGE}`);
    process.exit(2);
  }
  if (opts === 'help') {
    process.stdout.write(SOAK_USAGE);
    return;
  }
  const r = await runSoak(opts);
  process.exit(r.pass ? 0 : 1);
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => {
    process.stderr.write(`bench:soak: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  });
}
