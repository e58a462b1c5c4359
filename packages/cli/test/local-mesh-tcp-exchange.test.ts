/**
 * The TCP metadata exchange between two sidecars of the local mesh: a control plane (local
 * mode, ports 0, issuing workload certificates) and two sidecars in xDS mode, `client`
 * (127.0.0.101, service account client, app sleep) and `server` (127.0.0.102, service account
 * server, app store) in front of a TCP echo app (`tcp-store` port) and an HTTP app.
 *   - a TCP connection through the client sidecar (CONNECT, as the local mesh's TCP clients
 *     reach their sidecar) crosses mTLS with ALPN `istio-peer-exchange`: the server's
 *     istio_tcp_* series carry the client's workload, app, namespace and principal and
 *     `mutual_tls`; the client's carry the server's workload and app (from the server's
 *     preamble, not the endpoint metadata, which names no app), its principal, and the
 *     client's own principal as `source_principal`;
 *   - an HTTP request: the client's istio_requests_total carries its own principal too.
 */
import t from 'tap';
import http from 'node:http';
import net from 'node:net';
import { once } from 'node:events';
import { log } from '@minimesh/proxy/log';
import { startLocalMesh, until, type Workload } from './helpers/local-mesh.js';

log.level = 'error';
const CLIENT_IP = '127.0.0.101';
const SERVER_IP = '127.0.0.102';
const CLIENT_ID = 'spiffe://cluster.local/ns/test/sa/client';
const SERVER_ID = 'spiffe://cluster.local/ns/test/sa/server';

/** A TCP exchange through the client sidecar's forward proxy: CONNECT, then `send`; what came back after the 200. */
async function viaConnect(send: string): Promise<string> {
  const s = net.connect({ host: CLIENT_IP, port: 15001 });
  s.on('error', () => {});
  s.write('CONNECT store.test.svc.cluster.local:7000 HTTP/1.1\r\nHost: store.test.svc.cluster.local:7000\r\n\r\n');
  let buf = '';
  let established = false;
  s.on('data', (d: Buffer) => {
    buf += d.toString('latin1');
    if (!established && /^HTTP\/1\.1 200 [^]*?\r\n\r\n/.test(buf)) {
      established = true;
      buf = buf.slice(buf.indexOf('\r\n\r\n') + 4);
      s.write(send);
    }
  });
  await new Promise((r) => setTimeout(r, 500));
  s.end();
  await new Promise((r) => setTimeout(r, 100));
  s.destroy();
  return established ? buf : '';
}

const series = (text: string, name: string, ...parts: string[]): string | undefined => text.split('\n').find((l) => l.startsWith(`${name}{`) && parts.every((p) => l.includes(p)));
const scrape = async (ip: string): Promise<string> => (await fetch(`http://${ip}:15000/stats/prometheus`)).text();

t.test('the TCP metadata exchange between two local sidecars', async (t) => {
  const echo = net.createServer((c) => {
    c.on('data', (d) => c.write(Buffer.concat([Buffer.from('echo:'), d])));
    c.on('error', () => {});
  });
  echo.listen(0, '127.0.0.1');
  await once(echo, 'listening');
  const tcpPort = (echo.address() as net.AddressInfo).port;
  const app = http.createServer((_req, res) => res.end('ok'));
  app.listen(0, '127.0.0.1');
  await once(app, 'listening');
  const appPort = (app.address() as net.AddressInfo).port;
  const workloads: Workload[] = [
    { ip: CLIENT_IP, name: 'client', labels: { app: 'sleep', version: 'v1' } },
    { ip: SERVER_IP, name: 'server', labels: { app: 'store', version: 'v1' } },
  ];
  const mesh = await startLocalMesh(t, { 'services.yaml': `apiVersion: v1
kind: Namespace
metadata: { name: test }
---
apiVersion: v1
kind: Service
metadata: { name: store, namespace: test }
spec: { ports: [{ name: tcp-store, port: 7000, targetPort: ${tcpPort} }, { name: http, port: 80, targetPort: ${appPort} }] }
---
apiVersion: v1
kind: Endpoints
metadata: { name: store, namespace: test }
subsets: [{ addresses: [{ ip: ${SERVER_IP} }], ports: [{ name: tcp-store, port: ${tcpPort} }, { name: http, port: ${appPort} }] }]
` }, { identities: workloads });
  for (const w of workloads) await mesh.sidecar(w);
  t.teardown(() => {
    echo.close();
    app.close();
  });

  await t.test('TCP through CONNECT: both sides name each other', async (t) => {
    const reply = await until('the store service over mTLS', async () => {
      const r = await viaConnect('ping');
      return r === 'echo:ping' ? r : undefined;
    }, 15000);
    t.equal(reply, 'echo:ping', 'the app bytes only, both ways (no preamble leaks)');
    const served = await until('the server TCP metrics', async () => series(await scrape(SERVER_IP), 'istio_tcp_connections_opened_total', 'reporter="destination"', 'source_workload="client"'), 5000);
    t.match(served, `source_principal="${CLIENT_ID}"`, "the client's identity, from its certificate");
    t.match(served, 'source_app="sleep"', 'its app, from its preamble');
    t.match(served, 'source_workload_namespace="test"');
    t.match(served, 'source_canonical_service="sleep"');
    t.match(served, 'connection_security_policy="mutual_tls"');
    t.match(served, `destination_principal="${SERVER_ID}"`);
    t.match(served, 'destination_workload="server"');
    const sent = await until('the client TCP metrics', async () => series(await scrape(CLIENT_IP), 'istio_tcp_connections_opened_total', 'reporter="source"', 'destination_service="store.test.svc.cluster.local"'), 5000);
    t.match(sent, 'destination_workload="server"', "the server's workload");
    t.match(sent, 'destination_app="store"', 'its app: only its preamble says so');
    t.match(sent, `destination_principal="${SERVER_ID}"`, "the server's certificate");
    t.match(sent, `source_principal="${CLIENT_ID}"`, 'its own certificate');
    t.match(sent, 'source_workload="client"');
    const sentBytes = series(await scrape(CLIENT_IP), 'istio_tcp_sent_bytes_total', 'reporter="source"', 'destination_service="store.test.svc.cluster.local"');
    t.ok(sentBytes !== undefined && Number(sentBytes.split(' ').pop()) >= 'echo:ping'.length, `bytes counted: ${sentBytes}`);
  });

  await t.test('HTTP: the client reports its own principal', async (t) => {
    const ok = await until('the HTTP service', async () => {
      const status = await new Promise<number>((resolve, reject) => {
        const req = http.get({ host: CLIENT_IP, port: 15001, path: 'http://store.test.svc.cluster.local/x', agent: false, timeout: 3000 }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        });
        req.on('error', reject);
      });
      return status === 200 ? status : undefined;
    }, 10000);
    t.equal(ok, 200);
    const line = await until('the client request metrics', async () => series(await scrape(CLIENT_IP), 'istio_requests_total', 'reporter="source"', 'destination_service="store.test.svc.cluster.local"'), 5000);
    t.match(line, `source_principal="${CLIENT_ID}"`, 'source_principal: the client sidecar itself (mTLS)');
    t.match(line, `destination_principal="${SERVER_ID}"`);
  });
});
