#!/usr/bin/env node
// A small httpbin stand-in (plain node:http) with the endpoints the traffic tasks call:
//   GET /get          {"args", "headers", "origin", "url"}
//   GET /headers      {"headers": {...}}: the request's headers as the app received them
//   GET /ip           {"origin": "..."}
//   ANY /status/CODE  an empty answer with that status (100-599)
//   GET /delay/N      waits N seconds (at most 10), then answers as /get
// Anything else is 404. Every request is logged on stdout, one line each:
//   <time> <NAME> "<METHOD> <PATH>" <STATUS> host=<Host>
// so a mirrored copy shows (Envoy sends it with the Host suffixed `-shadow`).
// Environment: PORT (default 8080; 0 picks a free one), HOST (default 127.0.0.1),
// NAME (the log's name, default httpbin). The first line says where it listens.
import http from 'node:http';

const MAX_DELAY_S = 10;
const name = process.env.NAME ?? 'httpbin';
const host = process.env.HOST ?? '127.0.0.1';
const port = Number(process.env.PORT ?? '8080');
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`httpbin: PORT ${JSON.stringify(process.env.PORT)} is not a port number (0-65535)`);
  process.exit(2);
}

/** `x-request-id` -> `X-Request-Id`, as httpbin shows header names. */
function titleCase(h) {
  return h.replace(/(^|-)([a-z])/g, (_, dash, c) => dash + c.toUpperCase());
}

function headersOf(req) {
  const out = {};
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const k = titleCase(req.rawHeaders[i].toLowerCase());
    out[k] = out[k] === undefined ? req.rawHeaders[i + 1] : `${out[k]},${req.rawHeaders[i + 1]}`;
  }
  return out;
}

function originOf(req) {
  return req.socket.remoteAddress?.replace(/^::ffff:/, '') ?? '';
}

function getBody(req, url) {
  return { args: Object.fromEntries(url.searchParams), headers: headersOf(req), origin: originOf(req), url: `http://${req.headers.host ?? host}${req.url}` };
}

function json(res, status, body) {
  const text = `${JSON.stringify(body, null, 2)}\n`;
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'access-control-allow-origin': '*' });
  res.end(text);
}

function handle(req, res) {
  let url;
  try {
    url = new URL(req.url ?? '/', 'http://httpbin');
  } catch {
    return json(res, 400, { error: `bad request target ${JSON.stringify(req.url)}` });
  }
  const p = url.pathname;
  if (p === '/get') return json(res, 200, getBody(req, url));
  if (p === '/headers') return json(res, 200, { headers: headersOf(req) });
  if (p === '/ip') return json(res, 200, { origin: originOf(req) });
  let m = /^\/status\/(\d+)$/.exec(p);
  if (m) {
    const code = Number(m[1]);
    if (code < 100 || code > 599) return json(res, 400, { error: `status code ${m[1]} is not between 100 and 599` });
    res.writeHead(code, { 'content-length': 0, 'access-control-allow-origin': '*' });
    return res.end();
  }
  m = /^\/delay\/(\d+(?:\.\d+)?)$/.exec(p);
  if (m) {
    const s = Math.min(Number(m[1]), MAX_DELAY_S);
    const timer = setTimeout(() => json(res, 200, getBody(req, url)), s * 1000);
    res.on('close', () => clearTimeout(timer));
    return;
  }
  json(res, 404, { error: `no such endpoint: ${p} (this stand-in serves /get, /headers, /ip, /status/CODE, /delay/N)` });
}

const server = http.createServer((req, res) => {
  res.on('finish', () => console.log(`${new Date().toISOString()} ${name} "${req.method} ${req.url}" ${res.statusCode} host=${req.headers.host ?? '-'}`));
  // Drain the body (a POST /status/200 must not stall), then answer.
  req.resume();
  req.on('end', () => handle(req, res));
});
server.on('error', (e) => {
  console.error(`httpbin: cannot listen on ${host}:${port}: ${e.message}`);
  process.exit(1);
});
server.listen(port, host, () => console.log(`${name}: httpbin stand-in listening on ${host}:${server.address().port}`));
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => server.close(() => process.exit(0)).closeAllConnections());
