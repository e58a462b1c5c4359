// TEST DOUBLE — not minimesh. A trivial node:http + http.request reverse proxy used
// to develop the bench harness before minimesh's proxy works. Select it with
// `npm run bench -- --proxy-cmd standin`.
//
// It accepts the same command line as the real one
// (`proxy --bootstrap FILE --health-port off`) but does not really read Envoy
// config: it takes the `port_value:` lines of the bench's own bootstrap in order
// (admin, listener, upstream endpoint). GET /ready on the admin port answers 200.
import { readFileSync } from 'node:fs';
import { Agent, createServer, request } from 'node:http';

function main(): void {
  const i = process.argv.indexOf('--bootstrap');
  if (i < 0 || process.argv[i + 1] === undefined) throw new Error('usage: dev-standin-proxy proxy --bootstrap FILE');
  const yaml = readFileSync(process.argv[i + 1], 'utf8');
  const ports = [...yaml.matchAll(/port_value:\s*(\d+)/g)].map((m) => Number(m[1]));
  if (ports.length < 3) throw new Error('expected 3 port_value entries (admin, listener, endpoint)');
  const [adminPort, listenPort, upstreamPort] = ports;

  const agent = new Agent({ keepAlive: true, maxSockets: 64, maxFreeSockets: 64 });
  const proxy = createServer((req, res) => {
    const up = request(
      { host: '127.0.0.1', port: upstreamPort, method: req.method, path: req.url, headers: req.headers, agent },
      (upRes) => {
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        upRes.pipe(res);
      },
    );
    up.on('error', () => {
      if (!res.headersSent) res.writeHead(503, { 'content-length': '0' });
      res.end();
    });
    req.pipe(up);
  });
  proxy.keepAliveTimeout = 120_000;
  proxy.headersTimeout = 125_000;

  const admin = createServer((req, res) => {
    const ok = req.url === '/ready';
    res.writeHead(ok ? 200 : 404, { 'content-type': 'text/plain' });
    res.end(ok ? 'LIVE\n' : 'not found\n');
  });

  proxy.listen(listenPort, '127.0.0.1', () => admin.listen(adminPort, '127.0.0.1'));
  const shutdown = (): void => {
    admin.close();
    proxy.close(() => process.exit(0));
    proxy.closeAllConnections();
    setTimeout(() => process.exit(0), 1000).unref();
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}

main();
