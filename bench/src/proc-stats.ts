// Reading CPU time and memory of processes from /proc (Linux only).
import { readFileSync, readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

let ticks: number | undefined;

/** clock ticks per second (utime/stime unit), from `getconf CLK_TCK`, 100 if unknown */
export function clockTicks(): number {
  if (ticks === undefined) {
    const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
    const n = Number.parseInt(r.stdout ?? '', 10);
    ticks = Number.isFinite(n) && n > 0 ? n : 100;
  }
  return ticks;
}

/** fields of /proc/PID/stat after the `(comm)` field; index 0 is field 3 (state) */
function statFields(pid: number): string[] | null {
  try {
    const raw = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return raw.slice(raw.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/** utime+stime of one process (all its threads) in seconds, null if it is gone */
export function cpuSeconds(pid: number): number | null {
  const f = statFields(pid);
  if (f === null) return null;
  // field 14 = utime, field 15 = stime (1-based); f[0] is field 3
  return (Number(f[11]) + Number(f[12])) / clockTicks();
}

/** pid and all its descendants (scans /proc) */
export function processTree(pid: number): number[] {
  const parentOf = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const f = statFields(Number(name));
    if (f !== null) parentOf.set(Number(name), Number(f[1]));
  }
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    for (const [child, parent] of parentOf) if (parent === out[i]) out.push(child);
  }
  return out;
}

/** direct children of pid */
export function childrenOf(pid: number): number[] {
  return processTree(pid).filter((p) => p !== pid && parentPid(p) === pid);
}

function parentPid(pid: number): number | null {
  const f = statFields(pid);
  return f === null ? null : Number(f[1]);
}

function statusKb(pid: number, key: string): number | null {
  try {
    const raw = readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(raw);
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** resident set size now (VmRSS), in kB */
export function rssKb(pid: number): number | null {
  return statusKb(pid, 'VmRSS');
}

/** peak resident set size over the process lifetime (VmHWM), in kB */
export function peakRssKb(pid: number): number | null {
  return statusKb(pid, 'VmHWM');
}

/** CPU seconds of a set of processes, summed; null if none could be read */
export function cpuSecondsSum(pids: readonly number[]): number | null {
  let sum = 0;
  let seen = 0;
  for (const pid of pids) {
    const s = cpuSeconds(pid);
    if (s !== null) {
      sum += s;
      seen++;
    }
  }
  return seen === 0 ? null : sum;
}
