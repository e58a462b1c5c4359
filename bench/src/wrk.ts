// Finding and parsing wrk (the C load generator), used next to autocannon.
import { spawnSync } from 'node:child_process';
import type { ThroughputResult } from './loads.js';

export function wrkVersion(): string | null {
  const r = spawnSync('wrk', ['--version'], { encoding: 'utf8' });
  if (r.error) return null;
  const m = /wrk\s+(\S+)/.exec(`${r.stdout ?? ''}${r.stderr ?? ''}`);
  return m ? m[1] : 'unknown';
}

/** "1.23ms" → 1.23, "850.00us" → 0.85, "1.02s" → 1020, "2.00m" → 120000 */
export function wrkDurationMs(text: string): number {
  const m = /^([\d.]+)(us|ms|s|m|h)$/.exec(text.trim());
  if (!m) return Number.NaN;
  const v = Number(m[1]);
  const unit = { us: 0.001, ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'us' | 'ms' | 's' | 'm' | 'h'];
  return v * unit;
}

/** parse the text of `wrk --latency` */
export function parseWrk(out: string): ThroughputResult {
  const num = (re: RegExp): number => {
    const m = re.exec(out);
    return m ? Number(m[1]) : Number.NaN;
  };
  const pct = (p: string): number => {
    const m = new RegExp(`^\\s*${p}%\\s+(\\S+)`, 'm').exec(out);
    return m ? wrkDurationMs(m[1]) : Number.NaN;
  };
  const lat = /^\s*Latency\s+(\S+)\s+(\S+)\s+(\S+)/m.exec(out);
  const total = /(\d+) requests in ([\d.]+)(us|ms|s|m)/.exec(out);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const errors = sock ? sock.slice(1, 5).reduce((n, v) => n + Number(v), 0) : 0;
  const requests = total ? Number(total[1]) : Number.NaN;
  const durationS = total ? wrkDurationMs(`${total[2]}${total[3]}`) / 1000 : Number.NaN;
  const rps = num(/Requests\/sec:\s+([\d.]+)/);
  if (!Number.isFinite(rps)) throw new Error(`could not parse wrk output:\n${out}`);
  return {
    tool: 'wrk',
    rps,
    requests,
    durationS,
    latencyMs: { p50: pct('50'), p90: pct('90'), p99: pct('99'), max: lat ? wrkDurationMs(lat[3]) : Number.NaN },
    errors,
    non2xx: Number.isFinite(num(/Non-2xx or 3xx responses:\s+(\d+)/)) ? num(/Non-2xx or 3xx responses:\s+(\d+)/) : 0,
  };
}
