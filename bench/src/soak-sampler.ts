// One sample of the soak's processes: RSS and open file descriptors from /proc (Linux), and each
// sidecar's event-loop delay from its admin /stats (server.event_loop_delay_ms_p99 and _max: the
// proxy's own gauges over its last 5-second window; see proxy/src/observability/event-loop-delay.ts).
import { readdirSync, readFileSync } from 'node:fs';
import { get } from 'node:http';
import { cpuSeconds } from './proc-stats.js';

export interface ProcSample {
  name: string;
  pid: number;
  rssMb: number | null;
  fds: number | null;
  /** CPU seconds used so far (utime+stime) */
  cpuS: number | null;
  /** event-loop delay p99 / max over the proxy's last window (ms); null when not reported */
  eldP99Ms: number | null;
  eldMaxMs: number | null;
}

export interface Sample {
  /** seconds since the load started */
  t: number;
  procs: ProcSample[];
}

export function rssMb(pid: number): number | null {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m === null ? null : Number(m[1]) / 1024;
  } catch {
    return null;
  }
}

export function fdCount(pid: number): number | null {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return null;
  }
}

function fetchText(url: string, timeoutMs: number): Promise<string | null> {
  return new Promise((done) => {
    const req = get(url, { agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => done(res.statusCode === 200 ? body : null));
      res.on('error', () => done(null));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => done(null));
  });
}

/** `name: value` lines of Envoy's /stats text, as numbers */
export function parseStatsText(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const i = line.indexOf(': ');
    if (i > 0) out.set(line.slice(0, i), Number(line.slice(i + 2)));
  }
  return out;
}

/** `admin`: the process's admin base URL (sidecars), or null (no /stats to read) */
export async function sampleProc(name: string, pid: number, admin: string | null): Promise<ProcSample> {
  let eldP99Ms: number | null = null;
  let eldMaxMs: number | null = null;
  if (admin !== null) {
    const text = await fetchText(`${admin}/stats?filter=${encodeURIComponent('^server\\.event_loop_delay')}`, 3000);
    if (text !== null) {
      const s = parseStatsText(text);
      eldP99Ms = s.get('server.event_loop_delay_ms_p99') ?? null;
      eldMaxMs = s.get('server.event_loop_delay_ms_max') ?? null;
    }
  }
  return { name, pid, rssMb: rssMb(pid), fds: fdCount(pid), cpuS: cpuSeconds(pid), eldP99Ms, eldMaxMs };
}

export { fetchText };
