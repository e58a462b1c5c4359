/**
 * The primary process of `minimesh proxy --concurrency N`: beside its own `Proxy` (started with
 * `serveListeners: false`: the clusters and config the admin API shows, the secrets, the xDS
 * client or bootstrap, the admin / health / Prometheus / agent servers), N workers serve the
 * listeners. /stats and /stats/prometheus sum the workers' stats (stats-snapshot.ts,
 * istio-series.ts); the server's state (live, uptime) is the primary's.
 */
import { availableParallelism } from 'node:os';
import type { Proxy } from '../proxy.js';
import { log } from '../log.js';
import { mergeStatsSnapshots, registryFromSnapshot, snapshotStats } from '../observability/stats-snapshot.js';
import { collectIstioSeries } from '../observability/istio/render-istio-metrics.js';
import { formatIstioSeries, mergeIstioSeries } from '../observability/istio/istio-series.js';
import { WorkerPool } from './worker-pool.js';

/** How long a scrape waits for a worker's stats. */
export const STATS_TIMEOUT_MS = 1000;

/** `--concurrency 0`: one worker per core, as Envoy's default is one per hardware thread. */
export function workerCount(concurrency: number): number {
  return concurrency === 0 ? availableParallelism() : concurrency;
}

/** Forks the workers and points the proxy's /stats at their sum. */
export async function startWorkers(proxy: Proxy, count: number): Promise<WorkerPool> {
  const pool = new WorkerPool(count, { drainTimeMs: proxy.options.drainTimeMs, dnsResolvers: proxy.options.dnsResolvers, logLevel: log.level }, proxy.secrets);
  await pool.start();
  log.info({ workers: count, pids: pool.pids() }, 'workers started');
  const merged = async () => {
    const got = await pool.collectStats(STATS_TIMEOUT_MS);
    const stats = registryFromSnapshot(mergeStatsSnapshots([snapshotStats(proxy.stats), ...got.map((g) => g.stats)]), proxy.stats.server);
    const istio = mergeIstioSeries([collectIstioSeries(proxy.istio), ...got.map((g) => g.istio)]);
    return { stats, istio };
  };
  proxy.boundListeners = () => [...pool.listeners];
  proxy.drainListeners = (inboundOnly) => pool.drainListeners(inboundOnly);
  proxy.statsView = {
    text: async (filter) => (await merged()).stats.renderText(filter),
    prometheus: async () => {
      const m = await merged();
      return formatIstioSeries(m.istio, proxy.istio.buildTag) + m.stats.renderPrometheus();
    },
  };
  return pool;
}
