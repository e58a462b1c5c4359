#!/usr/bin/env node
// Istio's egress gateway task as a local mesh on loopback: a `sleep` pod (127.0.0.70, its
// sidecar only), the egress gateway (127.0.0.71:8080, `istio: egressgateway`) and a stand-in
// for edition.cnn.com on 127.0.0.61:8061. The name is known only to a small DNS server this
// script runs (127.0.0.1:15053); both proxies resolve with it (`--dns-resolvers`), so nothing
// outside this machine is ever asked. Requests go sleep sidecar -> egress gateway -> external.
// Ctrl-C stops every process started here.
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startFakeDnsServer } from '@minimesh/mesh/fake-dns-server';
import { LocalMesh } from '../../local-mesh.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const EXTERNAL = { host: 'edition.cnn.com', ip: '127.0.0.61', port: 8061 };
const DNS_PORT = 15053;
const dnsArgs = ['--dns-resolvers', `127.0.0.1:${DNS_PORT}`];
const gateway = { app: 'istio-egressgateway', type: 'router', ip: '127.0.0.71', name: 'istio-egressgateway-local-00001', namespace: 'istio-system', labels: { istio: 'egressgateway', app: 'istio-egressgateway' }, listenPorts: [8080], proxyArgs: dnsArgs };
const sleep = { app: 'sleep', ip: '127.0.0.70', name: 'sleep-local-00001', namespace: 'default', labels: { app: 'sleep' }, proxyArgs: dnsArgs };

const mesh = new LocalMesh({ name: 'egress-gateway', configDir: path.join(here, 'k8s') });
mesh.handleSignals();
await mesh.requireFreePorts([gateway, sleep]);
const dns = await startFakeDnsServer({ [EXTERNAL.host]: [EXTERNAL.ip] }, DNS_PORT);
const external = http.createServer((req, res) => res.end(`${EXTERNAL.host} stand-in: ${req.method} ${req.url} (Host: ${req.headers.host})\n`));
external.listen(EXTERNAL.port, EXTERNAL.ip);
try {
  await mesh.startControlPlane();
  await mesh.startSidecar(gateway);
  await mesh.startSidecar(sleep);
  const url = `http://${EXTERNAL.host}/politics`;
  const body = await new Promise((resolve, reject) => {
    http.get({ host: sleep.ip, port: 15001, path: url, headers: { host: EXTERNAL.host } }, (res) => {
      let b = '';
      res.on('data', (d) => (b += d));
      res.on('end', () => resolve(`${res.statusCode} ${b.trim()}`));
    }).on('error', reject);
  });
  console.log(`GET ${url} via the sleep sidecar -> ${body}`);
  console.log(`
The egress gateway task is running (DNS for ${EXTERNAL.host}: 127.0.0.1:${DNS_PORT}).
  curl -x ${sleep.ip}:15001 http://${EXTERNAL.host}/politics
  curl -s http://${gateway.ip}:15000/stats | grep 'outbound|80||${EXTERNAL.host}.upstream_rq_total'
  npx minimesh proxy-config clusters ${gateway.name}.${gateway.namespace}
  npx minimesh proxy-config endpoints ${gateway.name}.${gateway.namespace}
Ctrl-C to stop.`);
} catch (e) {
  console.error(e.message);
  dns.close();
  external.close();
  await mesh.stop(1);
}
