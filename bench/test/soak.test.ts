import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { distProgram, repoRoot } from '../src/paths.js';
import { defaultPushEveryS, parseDurationS, parseSoakArgs } from '../src/soak-options.js';
import { routeVersionWith } from '../src/soak-push.js';
import { failuresAroundRestart, sliceRows, sliceSeconds, verdicts, type SoakSecond } from '../src/soak-report.js';
import { parseStatsText, type Sample } from '../src/soak-sampler.js';
import type { Verdict } from '../src/soak-report.js';

t.test('flags: durations, defaults scaled to the duration, clear errors', async (t) => {
  t.equal(parseDurationS('4m', '--duration'), 240);
  t.equal(parseDurationS('70s', '--duration'), 70);
  t.equal(parseDurationS('600', '--duration'), 600);
  t.throws(() => parseDurationS('4 minutes', '--duration'), /--duration: not a duration: 4 minutes/);
  const o = parseSoakArgs([]);
  if (o === 'help') return t.fail('not help');
  t.equal(o.durationS, 600);
  t.equal(o.rate, 2000);
  t.equal(o.pushEveryS, 30);
  t.equal(o.restartAt, 0.5);
  t.equal(o.thresholds.minRateRatio, 0.95);
  t.equal(defaultPushEveryS(240), 30);
  t.equal(defaultPushEveryS(70), 10);
  t.throws(() => parseSoakArgs(['--duration', '10s']), /at least 30s/);
  t.throws(() => parseSoakArgs(['--restart-at', '1.5']), /--restart-at: out of range/);
  t.equal(parseSoakArgs(['--help']), 'help');
});

t.test('slices: a minute from 4 minutes up, else a fifth of the run', async (t) => {
  t.equal(sliceSeconds(600), 60);
  t.equal(sliceSeconds(240), 60);
  t.equal(sliceSeconds(70), 14);
});

/** samples every 5 s over `durationS` with the sidecar's RSS given by `rss(t)` and a steady fd count */
function synthetic(durationS: number, rss: (t: number) => number): { samples: Sample[]; seconds: SoakSecond[] } {
  const samples: Sample[] = [];
  for (let s = 5; s <= durationS; s += 5) {
    samples.push({ t: s, procs: [{ name: 'a sidecar', pid: 1, rssMb: rss(s), fds: 40, cpuS: s / 10, eldP99Ms: 2, eldMaxMs: 5 }] });
  }
  const seconds: SoakSecond[] = [];
  for (let s = 1; s <= durationS; s++) seconds.push({ t: s, at: 1_000_000 + s * 1000, ok: 2000, non2xx: 0, errors: 0, queued: 0, bad: [], maxMs: 3 });
  return { samples, seconds };
}

const th = { rssGrowth: 0.1, fdSlack: 4, minRateRatio: 0.95 };
const push = [{ n: 1, t: 30, reachedMs: 200, version: 'v1' }];
const byName = (vs: Verdict[], prefix: string): Verdict | undefined => vs.find((v) => v.name.startsWith(prefix));

t.test('verdicts: a flat run passes, a leak fails, failures count inside the restart window only', async (t) => {
  const flat = synthetic(240, () => 60);
  const restart = { killT: 120, readyT: 123, graceS: 5 };
  flat.seconds[120].non2xx = 2;
  flat.seconds[120].bad = [{ at: 1_000_000 + 121_000, status: 503 }, { at: 1_000_000 + 121_500, status: 503 }];
  const rows = sliceRows(240, flat.samples, flat.seconds);
  t.equal(rows.length, 4);
  t.equal(rows[1].procs['a sidecar'].rssMb, 60);
  const ok = verdicts({ durationS: 240, rate: 2000, sidecars: ['a sidecar'], rows, seconds: flat.seconds, loadStartMs: 1_000_000, restart, pushes: push, thresholds: th });
  t.same(ok.filter((v) => !v.pass), [], 'every verdict passes');
  t.match(byName(ok, '0 non-2xx')?.detail, /0 outside; 2 inside/);

  const leak = synthetic(240, (s) => 60 + s * 0.1); // +6 MB a minute
  const lv = verdicts({ durationS: 240, rate: 2000, sidecars: ['a sidecar'], rows: sliceRows(240, leak.samples, leak.seconds), seconds: leak.seconds, loadStartMs: 1_000_000, restart, pushes: push, thresholds: th });
  t.equal(byName(lv, 'RSS flat')?.pass, false, 'growing RSS fails');

  const late = synthetic(240, () => 60);
  late.seconds[200].errors = 1;
  late.seconds[200].bad = [{ at: 1_000_000 + 200_500, status: 0 }];
  const f = failuresAroundRestart(late.seconds, 1_000_000, restart);
  t.same(f, { inside: 0, outside: [{ t: 200.5, status: 0 }] });
  const fv = verdicts({ durationS: 240, rate: 2000, sidecars: ['a sidecar'], rows: sliceRows(240, late.samples, late.seconds), seconds: late.seconds, loadStartMs: 1_000_000, restart, pushes: push, thresholds: th });
  t.equal(byName(fv, '0 non-2xx')?.pass, false, 'an error after the window fails');
  const nr = verdicts({ durationS: 240, rate: 2000, sidecars: ['a sidecar'], rows, seconds: flat.seconds, loadStartMs: 1_000_000, restart: null, pushes: [], thresholds: th });
  t.equal(byName(nr, '0 non-2xx')?.pass, false, 'no restart happened: fails');
  t.equal(byName(nr, 'pushes')?.pass, false, 'no push: fails');
});

t.test('the push marker and the ELD gauges are read exactly', async (t) => {
  const dump = JSON.stringify({ configs: [{ dynamic_route_configs: [{ version_info: 'abc', route_config: { x: 'soak-push-10' } }] }] });
  t.equal(routeVersionWith(dump, '"soak-push-1"'), undefined, 'push 1 is not push 10');
  t.equal(routeVersionWith(dump, '"soak-push-10"'), 'abc');
  const s = parseStatsText('server.event_loop_delay_ms_max: 12.5\nserver.event_loop_delay_ms_p99: 3.25\n');
  t.equal(s.get('server.event_loop_delay_ms_p99'), 3.25);
});

// The soak itself: 4 minutes under CI (the CI length), 70 s elsewhere (slices of 14 s,
// a push every 10 s, the restart at 35 s). `npm test` runs this file on its own after the rest of
// the suite (`npm run test:soak`; tap's default file set excludes it), so no other test shares the
// machine; the achieved-rate verdict is still judged at ≥ 90 % here (the soak's default, 95 %, is
// for a quiet machine: a CI machine's neighbours are unknown); the others are about leaks and errors and stand as they are,
// but for the 70-s run's RSS limit: +40 %. Its slices are 14 s: the second one is still in
// warm-up (JIT, heap growing), and the server sidecar's RSS steps up at the upstream restart with
// its thousands of 503s (+4 to +17 MB seen here, then flat: the 4-minute runs stayed within +5 %
// from minute 2 to minute 4). A 70-s run catches gross leaks only (at 2,000 req/s, 0.5 KB kept per
// request is +42 MB between the two slices, 44 %); the 4-minute CI run judges the issue's +10 %.
// Outside CI a missed rate is a TODO, not a failure (a developer's machine may be busy with
// anything; 2,000 req/s needs the CPU to be there); under CI=true every verdict must pass.
const ci = process.env.CI === 'true';
const duration = ci ? '4m' : '70s';
const rssGrowth = ci ? '0.1' : '0.4';
const noProc = existsSync('/proc/self/status') ? false : 'needs Linux /proc (RSS and fd counts)';
if (noProc === false) t.setTimeout((parseDurationS(duration, 'duration') + 180) * 1000);

t.test(`npm run bench:soak -- --duration ${duration}`, { skip: ci ? false : noProc }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'soak-test-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const out = join(dir, 'soak.json');
  const { code, stdout } = await new Promise<{ code: number | null; stdout: string }>((done) => {
    // through `env -u NODE_OPTIONS`: tap's process-info hook puts itself into every child's
    // NODE_OPTIONS (whatever env is passed), and in the mesh's processes it would be measured
    // (~35 MB more RSS per process, seen here)
    const p = spawn('env', ['-u', 'NODE_OPTIONS', process.execPath, distProgram('soak'), '--duration', duration, '--min-rate', '0.9', '--rss-growth', rssGrowth, '--out', out], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] });
    let text = '';
    p.stdout.on('data', (c: Buffer) => (text += c.toString()));
    p.on('close', (c) => done({ code: c, stdout: text }));
  });
  t.comment(stdout.slice(stdout.indexOf('\nslice') + 1));
  t.match(stdout, /soak: t=\d+(\.\d)? s .*req\/s/, 'progress lines as it goes');
  t.match(stdout, /slice\s+RSS client\s+ELD p99 client\s+fds client\s+CPU client\s+RSS server/, 'the table');
  const r = JSON.parse(readFileSync(out, 'utf8')) as { verdicts: Verdict[]; pass: boolean; error: string | null; samples: Sample[] };
  t.equal(r.error, null, 'the run completed');
  for (const v of r.verdicts) {
    // outside CI the machine may be busy with anything: a missed rate is reported, not failed
    const todo = !ci && v.name.startsWith('rate') && !v.pass ? 'the rate is judged under CI=true; this machine was busy' : false;
    t.ok(v.pass, `${v.name}: ${v.detail}`, { todo });
  }
  t.equal(code, r.pass ? 0 : 1, 'the exit code follows the verdicts');
  const eld = r.samples.flatMap((s) => s.procs.filter((p) => p.name.endsWith('sidecar')).map((p) => p.eldP99Ms));
  t.ok(eld.length > 0 && eld.every((x) => typeof x === 'number'), 'every sidecar sample has its event-loop delay');
});
