// `--metrics`: does a build record Istio's metrics? Start one proxy with Istio's filters,
// send it a request, and look for istio_requests_total on its admin /stats/prometheus.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { get } from 'node:http';
import { join } from 'node:path';
import { startProxy } from './proxy.js';

export interface MetricsSupport {
  /** true: this build's proxy recorded istio_requests_total with the bench's Istio bootstrap */
  on: boolean;
  /** why not, or what was seen */
  note: string;
}

function httpGet(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolveGet, reject) => {
    const req = get(url, { agent: false, timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolveGet({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`${url}: timed out`)));
    req.on('error', reject);
  });
}

/** the first lines of the proxy's complaint (an older build rejects the Istio filters in its bootstrap) */
function rejection(text: string): string {
  const lines = text.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('---'));
  const i = lines.findIndex((l) => /invalid bootstrap/.test(l));
  return (i >= 0 ? lines.slice(i, i + 2) : lines.slice(-2)).map((l) => l.trim()).join(' ');
}

export async function probeIstioMetrics(proxyCmd: readonly string[], cpu: string, upstreamPort: number, tmp: string): Promise<MetricsSupport> {
  const dir = mkdtempSync(join(tmp, 'metrics-probe-'));
  try {
    let proxy;
    try {
      proxy = await startProxy(proxyCmd, cpu, dir, 'probe', upstreamPort, null, 'SERVER');
    } catch (err) {
      let log = '';
      try {
        log = readFileSync(join(dir, 'probe.log'), 'utf8');
      } catch {
        log = err instanceof Error ? err.message : String(err);
      }
      return { on: false, note: `its proxy does not take Istio's filters: ${rejection(log)}` };
    }
    try {
      await httpGet(`http://127.0.0.1:${proxy.ports.listen}/`);
      const stats = await httpGet(`http://127.0.0.1:${proxy.ports.admin}/stats/prometheus`);
      const line = stats.body.split('\n').find((l) => l.startsWith('istio_requests_total{'));
      return line === undefined
        ? { on: false, note: `its proxy takes Istio's filters but records no istio_requests_total (admin /stats/prometheus: ${stats.status})` }
        : { on: true, note: 'istio_requests_total recorded' };
    } finally {
      await proxy.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
