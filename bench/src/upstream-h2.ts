// The HTTP/2 upstream: a node:http2 server speaking h2c (cleartext, prior knowledge) that
// answers every request with the same 20-byte body as the HTTP/1.1 upstream.
// Run as its own process: `node bench/dist/src/upstream-h2.js [--port N]`; prints
// `{"port":N}` on stdout once listening; SIGTERM stops it.
import { constants, createServer, type ServerHttp2Session } from 'node:http2';

const BODY = Buffer.from('hello from upstream\n'); // 20 bytes

function main(): void {
  const i = process.argv.indexOf('--port');
  const port = i >= 0 ? Number(process.argv[i + 1]) : 0;
  const headers = {
    [constants.HTTP2_HEADER_STATUS]: 200,
    'content-type': 'text/plain',
    'content-length': String(BODY.length),
  };
  const sessions = new Set<ServerHttp2Session>();
  // a proxy or h2load multiplexes many streams on few sessions: let them
  const server = createServer({ settings: { maxConcurrentStreams: 1000 }, maxSessionMemory: 64 });
  server.on('session', (s) => {
    sessions.add(s);
    s.once('close', () => sessions.delete(s));
  });
  server.on('stream', (stream) => {
    stream.on('error', () => {});
    stream.resume(); // drain any request body
    stream.respond(headers);
    stream.end(BODY);
  });
  server.listen(port, '127.0.0.1', () => {
    const addr = server.address();
    const bound = addr !== null && typeof addr === 'object' ? addr.port : port;
    process.stdout.write(`${JSON.stringify({ port: bound })}\n`);
  });
  const shutdown = (): void => {
    server.close(() => process.exit(0));
    for (const s of sessions) s.destroy();
    setTimeout(() => process.exit(0), 1000).unref();
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}

main();
