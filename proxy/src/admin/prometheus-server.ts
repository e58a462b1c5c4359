/**
 * The HTTP endpoints outside the loopback-only admin API, as in an Istio pod:
 * - 15090 (`http-envoy-prom`, Envoy's own): `GET /stats/prometheus`;
 * - 15020, the agent port (the merged endpoint the injected `prometheus.io/port` annotation
 *   points at): `GET /stats/prometheus` too, and `GET /app-health/<container>/livez|readyz|startupz`,
 *   the app probes the injector rewrote (see app-probers.ts): 200 when the original probe
 *   succeeds, 503 with the app's status (or the error) when it fails, 404 for an unknown path;
 *   with the app's metrics appended to /stats/prometheus there (Istio's metrics merge).
 */
import http from 'node:http';
import type { Proxy } from '../proxy.js';
import { runAppProbe, type AppProbers } from './app-probers.js';
import { sendWithAppMetrics, type AppMetricsTarget } from './app-metrics.js';

/** What the agent port needs for /app-health: the prober table and the pod's own address. */
export interface AppHealth {
  readonly probers: AppProbers;
  /** Where the probes go (INSTANCE_IP in a pod; 127.0.0.1 when unset). */
  readonly podIp: string;
  /** The app's metrics, appended to /stats/prometheus (env ISTIO_PROMETHEUS_ANNOTATIONS; see app-metrics.ts). */
  readonly appMetrics?: AppMetricsTarget;
}

function notFound(res: http.ServerResponse, what: string): void {
  res.writeHead(404, { 'content-type': 'text/plain' });
  res.end(`not found: ${what}\n`);
}

/** The Prometheus endpoint; with `appHealth`, the agent port (15020) that also serves /app-health. */
export function createPrometheusServer(proxy: Proxy, appHealth?: AppHealth): http.Server {
  const serves = appHealth ? 'GET /stats/prometheus, /app-health/<container>/<livez|readyz|startupz>' : 'GET /stats/prometheus';
  return http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') return notFound(res, serves);
    if (path === '/stats/prometheus') {
      void proxy.statsView.prometheus().then((own) => {
        // The agent port appends the app's metrics (Istio's metrics merge).
        if (appHealth?.appMetrics) return sendWithAppMetrics(res, own, appHealth.appMetrics, appHealth.podIp);
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
        res.end(own);
      });
      return;
    }
    const prober = appHealth?.probers.get(path);
    if (appHealth === undefined || prober === undefined) return notFound(res, serves);
    void runAppProbe(prober, appHealth.podIp).then((r) => {
      if (res.destroyed) return;
      res.writeHead(r.ok ? 200 : 503, { 'content-type': 'text/plain' });
      res.end(r.ok ? '' : `app probe failed: ${r.detail}\n`);
    });
  });
}
