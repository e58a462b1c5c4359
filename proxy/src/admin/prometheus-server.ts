/**
 * Prometheus scrape endpoints outside the loopback-only admin API, as in an Istio pod:
 * 15090 (`http-envoy-prom`, Envoy's own) and 15020 (the merged endpoint the injected
 * `prometheus.io/port` annotation points at). Both answer `GET /stats/prometheus`.
 */
import http from 'node:http';
import type { Proxy } from '../proxy.js';

export function createPrometheusServer(proxy: Proxy): http.Server {
  return http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if ((req.method !== 'GET' && req.method !== 'HEAD') || path !== '/stats/prometheus') {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found: GET /stats/prometheus\n');
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
    res.end(proxy.stats.renderPrometheus());
  });
}
