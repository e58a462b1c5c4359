/**
 * Where the admin API's /stats and the Prometheus endpoints read the stats from: this
 * process's registry, or with `--concurrency N` the sum over the workers (workers/).
 */
export interface StatsView {
  /** Envoy's `/stats` text (`name: value` lines, sorted), filtered by the names `filter` matches. */
  text(filter?: RegExp): Promise<string>;
  /** `/stats/prometheus`: Istio's metrics, then Envoy's own. */
  prometheus(): Promise<string>;
}
