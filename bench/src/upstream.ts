// The upstream under test: a plain node:http server answering every request with
// a 20-byte body and Content-Length, keeping connections alive.
// Run as its own process: `node bench/dist/src/upstream.js [--port N]`; prints
// `{"port":N}` on stdout once listening; SIGTERM stops it.
import { createServer } from 'node:http';

const UPSTREAM_BODY = Buffer.from('hello from upstream\n'); // 20 bytes

function main(): void {
  const i = process.argv.indexOf('--port');
  const port = i >= 0 ? Number(process.argv[i + 1]) : 0;
  const headers = {
    'content-type': 'text/plain',
    'content-length': String(UPSTREAM_BODY.length),
  };
  const server = createServer((req, res) => {
    // drain any request body, then answer
    req.resume();
    res.writeHead(200, headers);
    res.end(UPSTREAM_BODY);
  });
  // proxies keep pooled connections open between loads: do not close them under them
  server.keepAliveTimeout = 120_000;
  server.headersTimeout = 125_000;
  server.requestTimeout = 0;
  server.listen(port, '127.0.0.1', () => {
    const addr = server.address();
    const bound = addr !== null && typeof addr === 'object' ? addr.port : port;
    process.stdout.write(`${JSON.stringify({ port: bound })}\n`);
  });
  const shutdown = (): void => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
    setTimeout(() => process.exit(0), 1000).unref();
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}

main();
