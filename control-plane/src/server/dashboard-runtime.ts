/**
 * The control plane's telemetry side, started and stopped as one: with `--prometheus URL`
 * the dashboard reads Prometheus; otherwise a scraper fills the control plane's own store
 * from the proxies (every `--scrape-interval`) and the dashboard reads that.
 */
import type http from 'node:http';
import type { MeshModel } from '../model/mesh-model.js';
import { DashboardServer } from '../dashboard/dashboard-server.js';
import { LocalTrafficSource } from '../telemetry/local-traffic-source.js';
import { MetricStore } from '../telemetry/metric-store.js';
import { PrometheusTrafficSource } from '../telemetry/prometheus-traffic-source.js';
import { scrapeTargets } from '../telemetry/scrape-targets.js';
import { DEFAULT_SCRAPE_INTERVAL_MS, Scraper } from '../telemetry/scraper.js';
import type { TrafficSource } from '../telemetry/traffic-query.js';
import type { ProxySyncz } from './syncz.js';

export interface DashboardRuntimeOptions {
  readonly host: string;
  readonly port: number;
  readonly prometheusUrl?: string;
  readonly scrapeIntervalMs?: number;
  readonly model: () => MeshModel;
  readonly syncz: () => ProxySyncz[];
  /** Node ids of the connected proxies. */
  readonly proxyIds: () => Iterable<string>;
  readonly assets?: (req: http.IncomingMessage, res: http.ServerResponse) => boolean;
}

export class DashboardRuntime {
  readonly store: MetricStore | undefined;
  readonly scraper: Scraper | undefined;
  readonly traffic: TrafficSource;
  readonly server: DashboardServer;
  port = 0;

  constructor(private readonly opts: DashboardRuntimeOptions) {
    const o = opts;
    const interval = o.scrapeIntervalMs ?? DEFAULT_SCRAPE_INTERVAL_MS;
    if (o.prometheusUrl) this.traffic = new PrometheusTrafficSource(o.prometheusUrl);
    else {
      this.store = new MetricStore();
      this.scraper = new Scraper({ store: this.store, intervalMs: interval, targets: () => scrapeTargets(o.proxyIds(), o.model().pods) });
      this.traffic = new LocalTrafficSource(this.store);
    }
    const connectedIps = (): Set<string> => new Set([...o.proxyIds()].map((id) => id.split('~')[1]).filter(Boolean));
    this.server = new DashboardServer({
      traffic: this.traffic,
      model: o.model,
      syncz: o.syncz,
      connectedIps,
      targets: () => this.scraper?.health() ?? [],
      ticks: this.scraper ? (l) => this.scraper!.onScrape(l) : undefined,
      pushIntervalMs: interval,
      assets: o.assets,
    });
  }

  async start(): Promise<number> {
    this.port = await this.server.listen(this.opts.host, this.opts.port);
    this.scraper?.start();
    return this.port;
  }

  async stop(): Promise<void> {
    await this.scraper?.stop();
    await this.server.close();
  }
}
