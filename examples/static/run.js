#!/usr/bin/env node
// `npm start`: an echo upstream on 127.0.0.1:5678 and minimesh's proxy in front of it on
// 127.0.0.1:15001, with the static bootstrap beside this file. Ctrl-C stops both.
import { spawn } from 'node:child_process';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { PROXY_NODE_FLAGS } from '@minimesh/mesh';

const here = path.dirname(fileURLToPath(import.meta.url));
const cli = path.join(here, '..', '..', 'packages', 'cli', 'bin', 'minimesh.js');

const echo = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = `echo: ${req.method} ${req.url}\n` + Buffer.concat(chunks).toString();
    res.writeHead(200, { 'content-type': 'text/plain', 'x-echo-request-id': req.headers['x-request-id'] ?? '' });
    res.end(body);
  });
});

echo.listen(5678, '127.0.0.1', () => {
  console.log('echo upstream listening on 127.0.0.1:5678');
  const proxy = spawn(process.execPath, [...PROXY_NODE_FLAGS, cli, 'proxy', '--bootstrap', path.join(here, 'bootstrap.yaml'), '--health-port', '15021', '--health-address', '127.0.0.1'], { stdio: 'inherit' });
  const stop = () => {
    proxy.kill('SIGTERM');
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  proxy.on('exit', (code) => {
    echo.close();
    process.exit(code ?? 0);
  });
  setTimeout(() => {
    console.log(`
minimesh proxy is up. Try:
  curl -si 127.0.0.1:15001/echo                 # 200, server: istio-envoy, x-envoy-upstream-service-time
  curl -si 127.0.0.1:15001/other                # 404 from the proxy (no route, flag NR in the access log)
  curl -s  127.0.0.1:15000/clusters             # admin API: hosts and counters
  curl -s  127.0.0.1:15000/stats/prometheus     # metrics
  curl -s  127.0.0.1:15021/healthz/ready -i     # readiness
Ctrl-C drains the proxy and stops.
`);
  }, 800);
});
