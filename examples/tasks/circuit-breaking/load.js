#!/usr/bin/env node
// A fortio-like load client for the circuit breaking task, through a pod's sidecar (its forward
// proxy on POD_IP:15001, as the local mesh's apps use it):
//   node load.js load -c 3 -n 30 -proxy 127.0.0.141:15001 http://httpbin:8000/get
//   node load.js curl -proxy 127.0.0.141:15001 http://httpbin:8000/get
// `load`: C connections (each one keep-alive socket, reopened if the proxy closes it) share N
// requests (N/C each, the first N%C one more), sent back to back (fortio's -qps 0); then
// fortio's summary: the time, the sockets used, one `Code NNN : COUNT (PCT %)` line per status
// (`Code -1` for a request that failed without an answer). `curl`: one request, its status
// line, headers and body. The proxy may also come from HTTP_PROXY.
import http from 'node:http';

function usage(msg) {
  console.error(`load.js: ${msg}\nusage: load.js load [-c CONNECTIONS] [-n REQUESTS] [-proxy HOST:PORT] URL\n       load.js curl [-proxy HOST:PORT] URL`);
  process.exit(2);
}

function parseArgs(argv) {
  const [mode, ...rest] = argv;
  if (mode !== 'load' && mode !== 'curl') usage(`unknown command ${JSON.stringify(mode ?? '')}`);
  const o = { mode, c: 8, n: 40, proxy: process.env.HTTP_PROXY?.replace(/^http:\/\//, '').replace(/\/$/, ''), url: undefined };
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    if (a === '-c' || a === '-n') {
      const v = Number(rest[++i]);
      if (!Number.isInteger(v) || v < 1) usage(`${a} wants a positive whole number, got ${JSON.stringify(rest[i])}`);
      o[a.slice(1)] = v;
    } else if (a === '-proxy') o.proxy = rest[++i];
    else if (a === '-qps' || a === '-loglevel') i++; // fortio's flags of the task: -qps 0 is what this does anyway
    else if (a.startsWith('-')) usage(`unknown flag ${a}`);
    else o.url = a;
  }
  if (o.url === undefined) usage('no URL');
  try {
    o.target = new URL(o.url);
  } catch {
    usage(`not a URL: ${JSON.stringify(o.url)}`);
  }
  const m = /^([^:]+):(\d+)$/.exec(o.proxy ?? '');
  if (!m) usage(`-proxy HOST:PORT (or HTTP_PROXY) is needed, got ${JSON.stringify(o.proxy ?? '')}`);
  o.proxyHost = m[1];
  o.proxyPort = Number(m[2]);
  return o;
}

/** One GET of the absolute URL through the proxy: { status, headers, body } or { status: -1, error }. */
function request(o, agent, onSocket = () => {}) {
  return new Promise((resolve) => {
    const req = http.get({ host: o.proxyHost, port: o.proxyPort, path: o.target.href, headers: { host: o.target.host, 'user-agent': 'fortio.org/fortio-like minimesh' }, agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, rawHeaders: res.rawHeaders, httpVersion: res.httpVersion, body }));
      res.on('error', (e) => resolve({ status: -1, error: e.message }));
    });
    req.on('socket', onSocket);
    req.setTimeout(15000, () => req.destroy(new Error('timeout after 15 s')));
    req.on('error', (e) => resolve({ status: -1, error: e.code ?? e.message }));
  });
}

async function curl(o) {
  const r = await request(o, false);
  if (r.status === -1) {
    console.error(`error: ${r.error}`);
    process.exit(1);
  }
  console.log(`HTTP/${r.httpVersion} ${r.status} ${http.STATUS_CODES[r.status] ?? ''}`);
  for (let i = 0; i < r.rawHeaders.length; i += 2) console.log(`${r.rawHeaders[i].toLowerCase()}: ${r.rawHeaders[i + 1]}`);
  console.log('');
  process.stdout.write(r.body);
}

async function load(o) {
  const c = Math.min(o.c, o.n);
  console.log(`Fortio-like load through ${o.proxyHost}:${o.proxyPort}: ${o.url}`);
  console.log(`Starting at max qps with ${c} thread(s) for exactly ${o.n} calls (${Math.floor(o.n / c)} per thread + ${o.n % c})`);
  const codes = new Map();
  const sockets = new WeakSet();
  let socketCount = 0;
  const times = [];
  const errors = new Map();
  const countSocket = (s) => {
    if (sockets.has(s)) return;
    sockets.add(s);
    socketCount++;
  };
  const start = performance.now();
  const worker = async (calls) => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    for (let i = 0; i < calls; i++) {
      const t0 = performance.now();
      const r = await request(o, agent, countSocket);
      times.push(performance.now() - t0);
      codes.set(r.status, (codes.get(r.status) ?? 0) + 1);
      if (r.error) errors.set(r.error, (errors.get(r.error) ?? 0) + 1);
    }
    agent.destroy();
  };
  await Promise.all(Array.from({ length: c }, (_, i) => worker(Math.floor(o.n / c) + (i < o.n % c ? 1 : 0))));
  const ms = performance.now() - start;
  const avg = times.reduce((a, b) => a + b, 0) / times.length;
  console.log(`Ended after ${(ms / 1000).toFixed(3)} s : ${o.n} calls. qps=${((o.n * 1000) / ms).toFixed(1)}`);
  console.log(`Aggregated Function Time : count ${times.length} avg ${(avg / 1000).toFixed(6)} min ${(Math.min(...times) / 1000).toFixed(6)} max ${(Math.max(...times) / 1000).toFixed(6)}`);
  console.log(`Sockets used: ${socketCount} (for perfect keepalive, would be ${c})`);
  for (const [e, k] of errors) console.log(`Error: ${e} (${k} times)`);
  for (const code of [...codes.keys()].sort((a, b) => a - b)) {
    const k = codes.get(code);
    console.log(`Code ${code} : ${k} (${((100 * k) / o.n).toFixed(1)} %)`);
  }
  console.log(`All done ${o.n} calls ${avg.toFixed(3)} ms avg, ${((o.n * 1000) / ms).toFixed(1)} qps`);
}

const o = parseArgs(process.argv.slice(2));
await (o.mode === 'curl' ? curl(o) : load(o));
