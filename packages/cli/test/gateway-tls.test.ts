/**
 * Gateway TLS end to end: a control plane (local mode, folder source) and a gateway proxy
 * (`router~127.0.0.110~...istio-system`, labels istio=ingressgateway) in xDS mode. The folder
 * holds a Gateway, VirtualServices and Secrets made here (kubernetes.io/tls, base64 data):
 *   - SIMPLE: a TLS client with SNI web.example.com gets the Secret's certificate and a 200
 *     from the upstream app through the gateway;
 *   - MUTUAL: no client certificate, no handshake; one signed by the Secret's ca.crt, a 200;
 *   - PASSTHROUGH: SNI nginx.example.com reaches a TLS backend, whose certificate the client sees;
 *   - httpsRedirect: plain HTTP gets 301 with Location https://web.example.com/path;
 *   - the Secret rewritten: the next handshake presents the new certificate;
 *   - a gateway proxy in another namespace gets no listener for that Secret, and its SDS
 *     request for it is refused with a line naming why.
 */
import t from 'tap';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { once } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import { ControlPlane } from '@minimesh/control-plane/server/control-plane';
import { CertificateAuthority, createRootCa } from '@minimesh/control-plane/security/certificate-authority';
import { secretTable } from '@minimesh/control-plane/cli/proxy-config-secret';
import { ADS_METHOD_PATH, deserializeResponse, SDS, serializeRequest } from '@minimesh/xds';
import { startXdsProxy } from '@minimesh/proxy/xds-mode';
import { log } from '@minimesh/proxy/log';

log.level = (process.env.GWTLS_LOG as typeof log.level) ?? 'error';
const GW_IP = '127.0.0.110';
const OTHER_GW_IP = '127.0.0.111';

async function until<T>(what: string, cond: () => Promise<T | undefined>, ms: number): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  while (Date.now() < end) {
    try {
      const v = await cond();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what}: not within ${ms} ms (${String(last)})`);
}

const newCa = async () => {
  const root = await createRootCa();
  return { pem: root.certPem, ca: await CertificateAuthority.load(root.certPem, root.keyPem) };
};
const b64 = (s: string): string => Buffer.from(s).toString('base64');
const tlsSecret = (name: string, cert: { certChainPem: string; keyPem: string }, caPem?: string): string => `apiVersion: v1
kind: Secret
metadata: { name: ${name}, namespace: istio-system }
type: kubernetes.io/tls
data:
  tls.crt: ${b64(cert.certChainPem)}
  tls.key: ${b64(cert.keyPem)}
${caPem ? `  ca.crt: ${b64(caPem)}\n` : ''}`;

interface Answer {
  status: number;
  body: string;
  location?: string;
  peerCn?: string;
  fingerprint?: string;
}

/** An HTTPS (or, with `plain`, HTTP) GET through the gateway, with SNI and Host `host`. */
function request(ip: string, port: number, host: string, urlPath: string, o: { ca?: string; cert?: string; key?: string; plain?: boolean } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const done = (res: http.IncomingMessage, sock: net.Socket): void => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => {
        const peer = sock instanceof tls.TLSSocket ? sock.getPeerCertificate() : undefined;
        resolve({ status: res.statusCode ?? 0, body, location: typeof res.headers.location === 'string' ? res.headers.location : undefined, peerCn: peer?.subject?.CN === undefined ? undefined : String(peer.subject.CN), fingerprint: peer?.fingerprint256 });
      });
    };
    const common = { host: ip, port, path: urlPath, headers: { host }, agent: false as const, timeout: 3000 };
    const req = o.plain
      ? http.get(common, (res) => done(res, res.socket))
      : https.get({ ...common, servername: host, ca: o.ca, cert: o.cert, key: o.key }, (res) => done(res, res.socket));
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

t.test('gateway TLS: SIMPLE, MUTUAL, PASSTHROUGH, httpsRedirect, rotation, namespaces', async (t) => {
  const serverCa = await newCa();
  const clientCa = await newCa();
  const backendCa = await newCa();
  const webCert = await serverCa.ca.signServing({ dnsNames: ['web.example.com', 'mtls.example.com'] });
  const clientCert = await clientCa.ca.signServing({ dnsNames: ['client.example.com'] });
  const backendCert = await backendCa.ca.signServing({ dnsNames: ['nginx.example.com'] });

  const app = http.createServer((_req, res) => res.end('hello from web'));
  app.listen(0, '127.0.0.1');
  await once(app, 'listening');
  const appPort = (app.address() as net.AddressInfo).port;
  const backend = tls.createServer({ cert: backendCert.certChainPem, key: backendCert.keyPem }, (s) => {
    s.on('data', (d) => s.write(Buffer.concat([Buffer.from('backend:'), d])));
    s.on('error', () => {});
  });
  backend.listen(0, '127.0.0.1');
  await once(backend, 'listening');
  const backendPort = (backend.address() as net.AddressInfo).port;

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'minimesh-gwtls-'));
  const writeSecrets = (web: { certChainPem: string; keyPem: string }): void =>
    fs.writeFileSync(path.join(dir, 'secrets.yaml'), `${tlsSecret('web-cred', web)}---\n${tlsSecret('mtls-cred', webCert, clientCa.pem)}`);
  writeSecrets(webCert);
  fs.writeFileSync(
    path.join(dir, 'mesh.yaml'),
    `apiVersion: v1
kind: Service
metadata: { name: web, namespace: default }
spec: { ports: [{ name: http, port: 80, targetPort: ${appPort} }] }
---
apiVersion: v1
kind: Endpoints
metadata: { name: web, namespace: default }
subsets: [{ addresses: [{ ip: 127.0.0.1 }], ports: [{ name: http, port: ${appPort} }] }]
---
apiVersion: v1
kind: Service
metadata: { name: nginx, namespace: default }
spec: { ports: [{ name: tls, port: 443, targetPort: ${backendPort} }] }
---
apiVersion: v1
kind: Endpoints
metadata: { name: nginx, namespace: default }
subsets: [{ addresses: [{ ip: 127.0.0.1 }], ports: [{ name: tls, port: ${backendPort} }] }]
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: gw, namespace: istio-system }
spec:
  selector: { istio: ingressgateway }
  servers:
  - { port: { number: 80, name: http, protocol: HTTP }, hosts: [web.example.com], tls: { httpsRedirect: true } }
  - { port: { number: 443, name: https, protocol: HTTPS }, hosts: [web.example.com], tls: { mode: SIMPLE, credentialName: web-cred } }
  - { port: { number: 443, name: https-mtls, protocol: HTTPS }, hosts: [mtls.example.com], tls: { mode: MUTUAL, credentialName: mtls-cred } }
  - { port: { number: 9443, name: tls, protocol: TLS }, hosts: [nginx.example.com], tls: { mode: PASSTHROUGH } }
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: web, namespace: default }
spec:
  hosts: [web.example.com, mtls.example.com]
  gateways: [istio-system/gw]
  http: [{ route: [{ destination: { host: web, port: { number: 80 } } }] }]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: nginx, namespace: default }
spec:
  hosts: [nginx.example.com]
  gateways: [istio-system/gw]
  tls: [{ match: [{ port: 9443, sniHosts: [nginx.example.com] }], route: [{ destination: { host: nginx, port: { number: 443 } } }] }]
`,
  );
  const lines: string[] = [];
  const cp = new ControlPlane({ source: { kind: 'folder', dir }, xdsAddress: { host: '127.0.0.1', port: 0 }, debugAddress: { host: '127.0.0.1', port: 0 }, local: true, print: (l) => lines.push(l) });
  await cp.start();
  const gatewayProxy = (ip: string, ns: string, pod: string) =>
    startXdsProxy({
      server: `127.0.0.1:${cp.xdsPort}`,
      node: { id: `router~${ip}~${pod}.${ns}~${ns}.svc.cluster.local`, cluster: `istio-ingressgateway.${ns}`, metadata: { LABELS: { istio: 'ingressgateway' }, NAMESPACE: ns } },
      adminAddress: ip,
      adminPort: 15000,
      healthAddress: '127.0.0.1',
      healthPort: undefined,
      drainTimeMs: 100,
      backoff: { initialMs: 50, maxMs: 200 },
    });
  const gw = await gatewayProxy(GW_IP, 'istio-system', 'ingress-1');
  const otherGw = await gatewayProxy(OTHER_GW_IP, 'other', 'ingress-2');
  t.teardown(async () => {
    await gw.stop();
    await otherGw.stop();
    await cp.stop();
    app.close();
    backend.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  await t.test('SIMPLE: the Secret certificate for SNI web.example.com, and a 200 from the upstream', async (t) => {
    const r = await until('an HTTPS answer', async () => request(GW_IP, 8443, 'web.example.com', '/hello', { ca: serverCa.pem }), 15000);
    t.equal(r.status, 200);
    t.equal(r.body, 'hello from web');
    t.equal(r.peerCn, 'web.example.com', "the gateway presents the Secret's certificate");
    const dump = await (await fetch(`http://${GW_IP}:15000/config_dump`)).text();
    t.match(dump, /SecretsConfigDump[^]*kubernetes:\/\/web-cred/, '/config_dump lists the secret');
    const table = secretTable(JSON.parse(dump));
    t.match(table, /kubernetes:\/\/web-cred\s+Cert Chain\s+ACTIVE/, `proxy-config secret shows it:\n${table}`);
    t.match(table, /kubernetes:\/\/mtls-cred-cacert\s+CA\s+ACTIVE/, 'and the MUTUAL server CA');
  });

  await t.test('MUTUAL: refused without a client certificate, served with one signed by ca.crt', async (t) => {
    await t.rejects(request(GW_IP, 8443, 'mtls.example.com', '/', { ca: serverCa.pem }), 'no client certificate: no answer');
    await t.rejects(request(GW_IP, 8443, 'mtls.example.com', '/', { ca: serverCa.pem, cert: backendCert.certChainPem, key: backendCert.keyPem }), 'a certificate of another CA: no answer');
    const r = await request(GW_IP, 8443, 'mtls.example.com', '/', { ca: serverCa.pem, cert: clientCert.certChainPem, key: clientCert.keyPem });
    t.equal(r.status, 200);
    t.equal(r.body, 'hello from web');
  });

  await t.test('PASSTHROUGH: the TLS backend is reached, its own certificate seen', async (t) => {
    const out = await until('the passthrough backend', async () => {
      const s = tls.connect({ host: GW_IP, port: 9443, servername: 'nginx.example.com', ca: backendCa.pem });
      s.on('error', () => {});
      await once(s, 'secureConnect');
      const cn = s.getPeerCertificate().subject.CN;
      s.write('ping');
      const [d] = (await once(s, 'data')) as [Buffer];
      s.destroy();
      return { cn, data: d.toString() };
    }, 10000);
    t.equal(out.cn, 'nginx.example.com');
    t.equal(out.data, 'backend:ping');
  });

  await t.test('httpsRedirect: 301 to https with the same host and path', async (t) => {
    const r = await request(GW_IP, 8080, 'web.example.com', '/some/path?x=1', { plain: true });
    t.equal(r.status, 301);
    t.equal(r.location, 'https://web.example.com/some/path?x=1');
  });

  await t.test('a rewritten Secret is served on the next handshake', async (t) => {
    const before = await request(GW_IP, 8443, 'web.example.com', '/', { ca: serverCa.pem });
    const renewed = await serverCa.ca.signServing({ dnsNames: ['web.example.com'] });
    writeSecrets(renewed);
    const after = await until('the renewed certificate', async () => {
      const r = await request(GW_IP, 8443, 'web.example.com', '/', { ca: serverCa.pem });
      return r.fingerprint !== before.fingerprint ? r : undefined;
    }, 15000);
    t.equal(after.status, 200);
    t.not(after.fingerprint, before.fingerprint, 'a new certificate');
  });

  await t.test('a gateway in another namespace gets neither the listener nor the Secret', async (t) => {
    await until('the other gateway serves the passthrough port', async () => {
      const s = tls.connect({ host: OTHER_GW_IP, port: 9443, servername: 'nginx.example.com', ca: backendCa.pem });
      s.on('error', () => {});
      await once(s, 'secureConnect');
      s.destroy();
      return true;
    }, 10000);
    await t.rejects(request(OTHER_GW_IP, 8443, 'web.example.com', '/', { ca: serverCa.pem }), 'no HTTPS server there');
    t.ok(lines.some((l) => l.includes('ingress-2.other') && l.includes('credentialName web-cred: Secret other/web-cred does not exist')), 'the control plane says why');
    const client = new grpc.Client(`127.0.0.1:${cp.xdsPort}`, grpc.credentials.createInsecure());
    const call = client.makeBidiStreamRequest(ADS_METHOD_PATH, serializeRequest, deserializeResponse);
    call.on('error', () => {});
    call.write({ node: { id: `router~127.0.0.112~ingress-3.other~other.svc.cluster.local` }, type_url: SDS, resource_names: ['kubernetes://istio-system/web-cred'], version_info: '', response_nonce: '' });
    const [resp] = (await once(call, 'data')) as [{ type_url: string; resources: unknown[] }];
    call.cancel();
    client.close();
    t.equal(resp.type_url, SDS);
    t.same(resp.resources ?? [], [], 'nothing is sent');
    t.ok(lines.some((l) => l.includes('SDS secret kubernetes://istio-system/web-cred refused') && l.includes('own namespace (other)')), lines.join('\n'));
  });
});
