/**
 * The Sidecar resource's `ingress` in the local mesh: the server workload (127.0.0.125) serves
 * port 9080 as its Service says, but its app listens on another port of 127.0.0.1; a Sidecar
 * with `ingress: [{port: 9080, defaultEndpoint: 127.0.0.1:APP}]` makes its sidecar's inbound
 * listener send there (inbound|9080|| -> 127.0.0.1:APP), as Istio does. A client sidecar
 * (127.0.0.126) reaches it by the service name through its forward proxy, then through an
 * egress listener its own Sidecar binds on port 9080 (`captureMode: NONE`).
 */
import t from 'tap';
import http from 'node:http';
import net from 'node:net';
import { once } from 'node:events';
import { log } from '@minimesh/proxy/log';
import { httpGet, startLocalMesh, until } from './helpers/local-mesh.js';

log.level = 'warn';
const SERVER_IP = '127.0.0.125';
const CLIENT_IP = '127.0.0.126';

const SERVICE = `apiVersion: v1
kind: Namespace
metadata: { name: shop }
---
apiVersion: v1
kind: Service
metadata: { name: web, namespace: shop }
spec: { selector: { app: web }, ports: [{ name: http, port: 9080 }] }
---
apiVersion: v1
kind: Endpoints
metadata: { name: web, namespace: shop }
subsets: [{ addresses: [{ ip: ${SERVER_IP} }], ports: [{ name: http, port: 9080 }] }]
`;

const sidecarYaml = (appPort: number): string => `apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: { name: web, namespace: shop }
spec:
  workloadSelector: { labels: { app: web } }
  ingress:
  - port: { number: 9080, protocol: HTTP, name: http }
    defaultEndpoint: 127.0.0.1:${appPort}
`;

t.test('Sidecar ingress: inbound traffic on 9080 goes to the app on its defaultEndpoint port', async (t) => {
  const app = http.createServer((req, res) => res.end(`app on ${(app.address() as net.AddressInfo).port} ${req.url}`));
  app.listen(0, '127.0.0.1');
  await once(app, 'listening');
  t.teardown(() => new Promise<void>((r) => app.close(() => r())));
  const appPort = (app.address() as net.AddressInfo).port;

  const mesh = await startLocalMesh(t, { 'service.yaml': SERVICE, 'sidecar.yaml': sidecarYaml(appPort) });
  await mesh.sidecar({ ip: SERVER_IP, name: 'web', namespace: 'shop', labels: { app: 'web' } });
  await mesh.sidecar({ ip: CLIENT_IP, name: 'sleep', namespace: 'shop', labels: { app: 'sleep' } });
  const url = 'http://web.shop.svc.cluster.local:9080/hello';
  const r = await until('the client reaches web through both sidecars', async () => {
    const x = await httpGet(CLIENT_IP, 15001, url);
    return x.status === 200 ? x : undefined;
  }, 15000);
  t.equal(r.body, `app on ${appPort} /hello`, 'the server sidecar sent the request to 127.0.0.1:APP (not 9080)');
  const direct = await httpGet(SERVER_IP, 9080, '/direct');
  t.equal(direct.body, `app on ${appPort} /direct`, 'the inbound listener on 127.0.0.125:9080 itself');

  // A new defaultEndpoint moves the inbound traffic: another app port, once the config is pushed.
  const app2 = http.createServer((req, res) => res.end(`second app ${req.url}`));
  app2.listen(0, '127.0.0.1');
  await once(app2, 'listening');
  t.teardown(() => new Promise<void>((r) => app2.close(() => r())));
  mesh.write('sidecar.yaml', sidecarYaml((app2.address() as net.AddressInfo).port));
  await until('the new defaultEndpoint is in force', async () => (await httpGet(CLIENT_IP, 15001, url)).body === 'second app /hello', 15000);
  t.pass('inbound traffic follows the Sidecar\'s defaultEndpoint');

  // The client's own Sidecar: an egress listener with captureMode NONE on 9080 is bound on the
  // sidecar's address (the pod's "localhost" in the local mesh): the app calls it directly.
  mesh.write('client-sidecar.yaml', `apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: { name: sleep, namespace: shop }
spec:
  workloadSelector: { labels: { app: sleep } }
  egress:
  - port: { number: 9080, protocol: HTTP, name: http }
    captureMode: NONE
    hosts: ["./*"]
  - hosts: ["./*"]
`);
  const viaBound = await until('the egress listener on 127.0.0.126:9080', async () => {
    const x = await httpGet(CLIENT_IP, 9080, '/bound', { host: 'web.shop.svc.cluster.local:9080' }, 1000);
    return x.status === 200 ? x : undefined;
  }, 15000);
  t.equal(viaBound.body, 'second app /bound', 'an app calling its sidecar on the egress port is routed by Host to web');
});
