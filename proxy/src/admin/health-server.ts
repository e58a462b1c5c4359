/**
 * The readiness endpoint Kubernetes probes, on 15021 as in Istio: `GET /healthz/ready`
 * answers 200 once the proxy has its config and is not draining, 503 otherwise.
 */
import http from 'node:http';
import type { Proxy } from '../proxy.js';

export function createHealthServer(proxy: Proxy): http.Server {
  return http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/healthz/ready') {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found\n');
      return;
    }
    const ok = proxy.ready && !proxy.draining;
    res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' });
    res.end(ok ? '' : proxy.draining ? 'draining\n' : 'not ready\n');
  });
}
