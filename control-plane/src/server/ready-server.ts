/** istiod's readiness port (8080): `GET /ready` 200 when `isReady()`, else 503 saying what is missing. */
import http from 'node:http';

export function createReadyServer(isReady: () => { ready: boolean; waitingFor: string }): http.Server {
  return http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/ready') {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found (GET /ready)\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { 'content-type': 'text/plain; charset=utf-8' }).end('method not allowed\n');
      return;
    }
    const r = isReady();
    res.writeHead(r.ready ? 200 : 503, { 'content-type': 'text/plain; charset=utf-8' }).end(r.ready ? 'ready\n' : `not ready: waiting for ${r.waitingFor}\n`);
  });
}
