/**
 * Automatic mTLS between the local mesh's sidecars: a control plane (local mode, ports 0) that
 * issues workload certificates (`workloadTokensFile`, as `npm start` runs it), three sidecars
 * in xDS mode with their tokens: `client` (127.0.0.81, service account client), `other`
 * (127.0.0.83, service account other) and `server` (127.0.0.82) in front of an HTTP app that
 * answers with the `x-forwarded-client-cert` it received.
 *   - a request from the client sidecar reaches the server sidecar over mTLS: the server
 *     sidecar's access log shows the client's SPIFFE id (%DOWNSTREAM_PEER_URI_SAN%), its
 *     metrics say `mutual_tls`, and the app gets XFCC with By, Hash and URI; a TCP service
 *     through CONNECT is mTLS too (the server's TCP metrics: `mutual_tls`, the client's id);
 *   - PERMISSIVE (no policy) accepts a plain-text client dialling the server sidecar's inbound
 *     port; STRICT (a PeerAuthentication) refuses it while the mesh client still passes;
 *   - an AuthorizationPolicy DENY naming the client's principal answers 403 `RBAC: access
 *     denied` to it, while the `other` sidecar's principal passes.
 */
import t from 'tap';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { log } from '@minimesh/proxy/log';
import { httpGet, startLocalMesh, until, type Reply } from './helpers/local-mesh.js';

log.level = 'error';
const CLIENT_IP = '127.0.0.81';
const SERVER_IP = '127.0.0.82';
const OTHER_IP = '127.0.0.83';
const CLIENT_ID = 'spiffe://cluster.local/ns/test/sa/client';
const SERVER_ID = 'spiffe://cluster.local/ns/test/sa/server';

/** GET through a sidecar's forward proxy (absolute form), or straight to an address. */
const get = (host: string, port: number, pathOrUrl: string): Promise<Reply> => httpGet(host, port, pathOrUrl, {}, 3000);

t.test('mTLS, PeerAuthentication and AuthorizationPolicy between local sidecars', async (t) => {
  const app = http.createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ xfcc: req.headers['x-forwarded-client-cert'] ?? null }));
  });
  app.listen(0, '127.0.0.1');
  await once(app, 'listening');
  const appPort = (app.address() as net.AddressInfo).port;
  const echo = net.createServer((c) => {
    c.on('data', (d) => c.write(Buffer.concat([Buffer.from('echo:'), d])));
    c.on('error', () => {});
  });
  echo.listen(0, '127.0.0.1');
  await once(echo, 'listening');
  const tcpPort = (echo.address() as net.AddressInfo).port;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'minimesh-mtls-'));
  const accessLog = path.join(dir, 'access.log');
  fs.writeFileSync(path.join(dir, 'mesh.yaml'), `accessLogFile: ${accessLog}\naccessLogFormat: "%DOWNSTREAM_LOCAL_ADDRESS% [%DOWNSTREAM_PEER_URI_SAN%] %RESPONSE_CODE%\\n"\n`);
  const workloads = [
    { ip: CLIENT_IP, name: 'client' },
    { ip: SERVER_IP, name: 'server' },
    { ip: OTHER_IP, name: 'other' },
  ];
  const mesh = await startLocalMesh(t, { 'services.yaml': `apiVersion: v1
kind: Namespace
metadata: { name: test }
---
apiVersion: v1
kind: Service
metadata: { name: web, namespace: test }
spec: { ports: [{ name: http, port: 80, targetPort: ${appPort} }] }
---
apiVersion: v1
kind: Endpoints
metadata: { name: web, namespace: test }
subsets: [{ addresses: [{ ip: ${SERVER_IP} }], ports: [{ name: http, port: ${appPort} }] }]
---
apiVersion: v1
kind: Service
metadata: { name: store, namespace: test }
spec: { ports: [{ name: tcp-store, port: 7000, targetPort: ${tcpPort} }] }
---
apiVersion: v1
kind: Endpoints
metadata: { name: store, namespace: test }
subsets: [{ addresses: [{ ip: ${SERVER_IP} }], ports: [{ name: tcp-store, port: ${tcpPort} }] }]
` }, { identities: workloads, cp: { meshConfigFile: path.join(dir, 'mesh.yaml') } });
  for (const w of workloads) await mesh.sidecar(w);
  t.teardown(() => {
    app.close();
    echo.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const url = 'http://web.test.svc.cluster.local/hello';
  const viaClient = (): Promise<Reply> => get(CLIENT_IP, 15001, url);
  const direct = (): Promise<Reply> => get(SERVER_IP, appPort, '/direct');

  await t.test('a request between two sidecars is mTLS', async (t) => {
    const r = await until('the web service over mTLS', async () => {
      const x = await viaClient();
      return x.status === 200 && JSON.parse(x.body).xfcc ? x : undefined;
    }, 15000);
    const xfcc = JSON.parse(r.body).xfcc as string;
    t.match(xfcc, new RegExp(`^By=${SERVER_ID};Hash=[0-9a-f]{64};Subject="[^"]*";URI=${CLIENT_ID}$`), 'XFCC names the server (By), the client certificate (Hash) and its identity (URI)');
    const lines = await until('the server sidecar logs the request', async () => {
      const text = fs.existsSync(accessLog) ? fs.readFileSync(accessLog, 'utf8') : '';
      return text.includes(`${SERVER_IP}:${appPort} [${CLIENT_ID}] 200`) ? text : undefined;
    }, 5000);
    t.match(lines, `${SERVER_IP}:${appPort} [${CLIENT_ID}] 200`, "the server sidecar's access log shows the client's SPIFFE id");
    const metrics = await (await fetch(`http://${SERVER_IP}:15000/stats/prometheus`)).text();
    const served = metrics.split('\n').filter((l) => l.startsWith('istio_requests_total{') && l.includes('reporter="destination"'));
    t.ok(served.some((l) => l.includes('connection_security_policy="mutual_tls"') && l.includes(`source_principal="${CLIENT_ID}"`) && l.includes(`destination_principal="${SERVER_ID}"`)), `destination metrics say mutual_tls from ${CLIENT_ID} to ${SERVER_ID}: ${served.join('\n')}`);
    const sent = (await (await fetch(`http://${CLIENT_IP}:15000/stats/prometheus`)).text()).split('\n').filter((l) => l.startsWith('istio_requests_total{') && l.includes('reporter="source"'));
    t.ok(sent.some((l) => l.includes(`destination_principal="${SERVER_ID}"`)), `source metrics name the server's principal: ${sent.join('\n')}`);
    const plain = await direct();
    t.equal(plain.status, 200, 'PERMISSIVE: a plain-text client is served too');
    t.equal(JSON.parse(plain.body).xfcc, null, 'and gets no XFCC');
  });

  await t.test('TCP through CONNECT is mTLS between the sidecars too', async (t) => {
    const out = await until('the store service over mTLS', async () => {
      const s = net.connect({ host: CLIENT_IP, port: 15001 });
      s.on('error', () => {});
      s.write('CONNECT store.test.svc.cluster.local:7000 HTTP/1.1\r\nHost: store.test.svc.cluster.local:7000\r\n\r\n');
      let buf = '';
      s.on('data', (d: Buffer) => {
        buf += d.toString('latin1');
        if (/^HTTP\/1\.1 200 [^]*\r\n\r\n$/.test(buf)) s.write('ping');
      });
      await new Promise((r) => setTimeout(r, 500));
      s.destroy();
      return buf.endsWith('echo:ping') ? buf : undefined;
    }, 10000);
    t.match(out, /echo:ping$/, 'bytes both ways');
    const metrics = await until('the TCP metrics', async () => {
      const m = await (await fetch(`http://${SERVER_IP}:15000/stats/prometheus`)).text();
      return m.split('\n').find((l) => l.startsWith('istio_tcp_connections_opened_total{') && l.includes('reporter="destination"') && l.includes('connection_security_policy="mutual_tls"'));
    }, 5000);
    t.match(metrics, `source_principal="${CLIENT_ID}"`, "the server's TCP metrics: mutual_tls from the client's identity");
  });

  await t.test('STRICT refuses plain text, the mesh client still passes', async (t) => {
    mesh.write('strict.yaml', 'apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: { name: strict, namespace: test }\nspec: { mtls: { mode: STRICT } }\n');
    mesh.cp.rescan();
    const err = await until('the plain-text client is refused', async () => {
      try {
        await direct();
        return undefined;
      } catch (e) {
        return e as Error;
      }
    }, 10000);
    t.ok(err instanceof Error, `a plain-text client is closed (${err.message})`);
    t.equal((await viaClient()).status, 200, 'the client sidecar (mTLS) is served');
    mesh.write('strict.yaml', 'apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: { name: strict, namespace: test }\nspec: { mtls: { mode: PERMISSIVE } }\n');
    mesh.cp.rescan();
    const back = await until('PERMISSIVE again', async () => {
      const r = await direct().catch(() => undefined);
      return r?.status === 200 ? r : undefined;
    }, 10000);
    t.equal(back.status, 200, 'PERMISSIVE accepts plain text again');
  });

  await t.test('an AuthorizationPolicy DENY on the client principal', async (t) => {
    mesh.write(
      'deny.yaml',
      'apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: { name: deny-client, namespace: test }\nspec: { selector: { matchLabels: { app: server } }, action: DENY, rules: [{ from: [{ source: { principals: ["cluster.local/ns/test/sa/client"] } }] }] }\n',
    );
    mesh.cp.rescan();
    const denied = await until('the DENY applies', async () => {
      const r = await viaClient();
      return r.status === 403 ? r : undefined;
    }, 10000);
    t.equal(denied.body, 'RBAC: access denied', '403 RBAC: access denied for the client principal');
    const r = await until('the other sidecar is served', async () => {
      const x = await get(OTHER_IP, 15001, url);
      return x.status === 200 ? x : undefined;
    }, 10000);
    t.match(JSON.parse(r.body).xfcc, /URI=spiffe:\/\/cluster\.local\/ns\/test\/sa\/other$/, 'another principal passes');
  });
});
