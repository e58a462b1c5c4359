/**
 * VirtualService `corsPolicy` and `headers` with `%OPERATOR%` values end to end: a control plane
 * (local mode) on a temp YAML folder and a client sidecar in xDS mode; the app sends plain HTTP
 * through the sidecar's proxy port.
 *   - a preflight from an allowed origin is answered by the client sidecar (the app never sees
 *     it); an actual request gets access-control-allow-origin; another origin gets nothing;
 *   - `headers.request.set` with %DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT% reaches the app as the
 *     client's address, and `headers.response.add` with %UPSTREAM_HOST% names the endpoint.
 */
import t from 'tap';
import http from 'node:http';
import net from 'node:net';
import { once } from 'node:events';
import { log } from '@minimesh/proxy/log';
import { startLocalMesh, until, type Teardown } from './helpers/local-mesh.js';

log.level = 'warn';
const CLIENT_IP = '127.0.0.77';
const HOST = 'web.test.svc.cluster.local';

interface Reply {
  status: number;
  body: string;
  headers: http.IncomingHttpHeaders;
}

/** Through the client sidecar's forward proxy from the client's own address (httpGet sends GETs only). */
function send(method: string, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ method, host: CLIENT_IP, port: 15001, localAddress: CLIENT_IP, path: `http://${HOST}/api`, headers: { host: HOST, ...headers }, agent: false }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, body, headers: res.headers }));
    });
    req.setTimeout(5000, () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

const services = (port: number): string => `apiVersion: v1
kind: Namespace
metadata: { name: test }
---
apiVersion: v1
kind: Service
metadata: { name: web, namespace: test }
spec: { ports: [{ name: http, port: 80, targetPort: ${port} }] }
---
apiVersion: v1
kind: Endpoints
metadata: { name: web, namespace: test }
subsets: [{ addresses: [{ ip: 127.0.0.1 }], ports: [{ name: http, port: ${port} }] }]
`;

const VS = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: web, namespace: test }
spec:
  hosts: [web]
  http:
  - corsPolicy:
      allowOrigins: [{ regex: "https://[a-z]+\\\\.example\\\\.com" }]
      allowMethods: [GET, PUT]
      allowHeaders: [x-token]
      maxAge: 1h
      allowCredentials: true
    headers:
      request: { set: { x-client-ip: "%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%" } }
      response: { add: { x-served-by: "%UPSTREAM_HOST%" } }
    route: [{ destination: { host: web } }]
`;

/** An app answering `from web`, remembering each request's method and headers; closed at teardown. */
async function startApp(t: Teardown): Promise<{ port: number; seen: { method: string; headers: http.IncomingHttpHeaders }[] }> {
  const seen: { method: string; headers: http.IncomingHttpHeaders }[] = [];
  const app = http.createServer((req, res) => {
    seen.push({ method: req.method ?? '', headers: req.headers });
    res.end('from web');
  });
  app.listen(0, '127.0.0.1');
  await once(app, 'listening');
  t.teardown(() => app.close());
  return { port: (app.address() as net.AddressInfo).port, seen };
}

t.test('corsPolicy and formatted headers through a client sidecar', async (t) => {
  const web = await startApp(t);
  const mesh = await startLocalMesh(t, { 'services.yaml': services(web.port), 'vs.yaml': VS });
  await mesh.sidecar({ ip: CLIENT_IP, name: 'client' }, { adminAddress: '127.0.0.1', adminPort: 0 });

  const allowed = 'https://shop.example.com';
  await until('the policy is in force', async () => (await send('GET', { origin: allowed })).headers['access-control-allow-origin'] === allowed, 15000, 50);
  const before = web.seen.length;
  const pre = await send('OPTIONS', { origin: allowed, 'access-control-request-method': 'PUT', 'access-control-request-headers': 'x-token' });
  t.equal(pre.status, 200);
  t.equal(pre.headers['access-control-allow-origin'], allowed);
  t.equal(pre.headers['access-control-allow-methods'], 'GET,PUT');
  t.equal(pre.headers['access-control-allow-headers'], 'x-token');
  t.equal(pre.headers['access-control-max-age'], '3600');
  t.equal(pre.headers['access-control-allow-credentials'], 'true');
  t.equal(web.seen.length, before, 'the preflight never reached the app');

  const actual = await send('GET', { origin: allowed });
  t.equal(actual.body, 'from web');
  t.equal(actual.headers['access-control-allow-origin'], allowed);
  t.equal(actual.headers['access-control-allow-credentials'], 'true');
  t.equal(actual.headers['x-served-by'], `127.0.0.1:${web.port}`, '%UPSTREAM_HOST% on the response');
  t.equal(web.seen[web.seen.length - 1].headers['x-client-ip'], CLIENT_IP, '%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT% on the request');

  const other = await send('GET', { origin: 'https://evil.test' });
  t.equal(other.headers['access-control-allow-origin'], undefined, 'another origin: no CORS headers');
  const otherPre = await send('OPTIONS', { origin: 'https://evil.test', 'access-control-request-method': 'PUT' });
  t.equal(otherPre.body, 'from web', 'its preflight goes to the app (unmatchedPreflights unset: forward)');
  t.equal(web.seen[web.seen.length - 1].method, 'OPTIONS');
});
