/**
 * Debian's Prometheus for tests: `promtool check config`, and a real server on a config file
 * whose targets' labels are then read back from /api/v1/targets. Debian builds Prometheus
 * without Kubernetes service discovery, so a config meant for a cluster is checked with its
 * `kubernetes_sd_configs` replaced by `file_sd_configs` (the relabelling is the same).
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const find = (name: string): string | undefined => [`/usr/bin/${name}`, `/usr/local/bin/${name}`].find((p) => existsSync(p));
export const PROMTOOL_BIN = find('promtool');
export const PROMETHEUS_BIN = find('prometheus');

/** What a skipping test says outside CI; under CI=true the caller fails instead. */
export const PROMETHEUS_MISSING = 'Debian\'s prometheus package is not installed (apt-get install prometheus; .ci/run installs it)';

export interface ScrapeConfig {
  job_name: string;
  kubernetes_sd_configs?: unknown[];
  file_sd_configs?: unknown[];
  [k: string]: unknown;
}

/** The config with every Kubernetes discovery replaced by a file discovery reading `targetsFile`. */
export function withFileDiscovery(config: { scrape_configs?: ScrapeConfig[] }, targetsFile: string): { scrape_configs: ScrapeConfig[] } {
  return {
    ...config,
    scrape_configs: (config.scrape_configs ?? []).map((s) => {
      if (!s.kubernetes_sd_configs) return s;
      const { kubernetes_sd_configs: _dropped, ...rest } = s;
      return { ...rest, file_sd_configs: [{ files: [targetsFile], refresh_interval: '1s' }] };
    }),
  };
}

export function promtoolCheckConfig(file: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(PROMTOOL_BIN ?? 'promtool', ['check', 'config', file], (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, output: `${stdout}${stderr}` });
    });
  });
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

export interface TargetInfo {
  readonly discoveredLabels: Record<string, string>;
  readonly labels?: Record<string, string>;
  readonly scrapeUrl?: string;
  readonly scrapePool?: string;
}

export interface Targets {
  readonly active: TargetInfo[];
  readonly dropped: TargetInfo[];
}

/**
 * Runs Prometheus on `configFile` until `ready(targets)` holds (or `timeoutMs` passes), then
 * stops it and returns the last targets it reported.
 */
export async function prometheusTargets(configFile: string, ready: (t: Targets) => boolean, timeoutMs = 20_000): Promise<Targets> {
  if (PROMETHEUS_BIN === undefined) throw new Error(PROMETHEUS_MISSING);
  const data = mkdtempSync(path.join(os.tmpdir(), 'mm-prom-'));
  const listen = `127.0.0.1:${await freePort()}`;
  const child = spawn(PROMETHEUS_BIN, [`--config.file=${configFile}`, `--storage.tsdb.path=${data}`, `--web.listen-address=${listen}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr!.on('data', (d) => (log = (log + d).slice(-4000)));
  const end = Date.now() + timeoutMs;
  let last: Targets = { active: [], dropped: [] };
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`prometheus exited (${child.exitCode}): ${log}`);
      try {
        const res = await fetch(`http://${listen}/api/v1/targets`, { signal: AbortSignal.timeout(1000) });
        if (res.ok) {
          const body = (await res.json()) as { data: { activeTargets: TargetInfo[]; droppedTargets: TargetInfo[] } };
          last = { active: body.data.activeTargets, dropped: body.data.droppedTargets };
          if (ready(last)) return last;
        }
      } catch {
        // not up yet
      }
      if (Date.now() > end) return last;
      await new Promise((r) => setTimeout(r, 250));
    }
  } finally {
    child.kill('SIGKILL');
    await new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r(undefined) : child.once('exit', r)));
    rmSync(data, { recursive: true, force: true });
  }
}
