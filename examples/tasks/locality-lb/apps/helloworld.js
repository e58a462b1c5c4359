#!/usr/bin/env node
// A stand-in for the helloworld sample: GET /hello answers
// "Hello version: SERVICE_VERSION, instance: POD_NAME" (the sample's text), on 127.0.0.1:PORT
// (inside its pod). PORT=0 picks a free port; the port taken is printed as one JSON line:
// {"listening":5000}.
import http from 'node:http';

const version = process.env.SERVICE_VERSION ?? 'v1';
const instance = process.env.POD_NAME ?? 'helloworld';
const port = Number(process.env.PORT ?? '5000');
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`helloworld: PORT must be a port number (got ${JSON.stringify(process.env.PORT)})`);
  process.exit(2);
}

const server = http.createServer((req, res) => {
  if (req.url === '/hello' || req.url?.startsWith('/hello?')) {
    res.setHeader('content-type', 'text/plain');
    res.end(`Hello version: ${version}, instance: ${instance}\n`);
    return;
  }
  res.statusCode = 404;
  res.end('not found\n');
});
server.once('error', (e) => {
  console.error(`helloworld: cannot listen on 127.0.0.1:${port}: ${e.message}`);
  process.exit(1);
});
server.listen(port, '127.0.0.1', () => console.log(JSON.stringify({ listening: server.address().port, version })));
process.on('SIGTERM', () => process.exit(0));
