/**
 * Istio's egress gateway task end to end in the local mesh: a client sidecar and an egress
 * gateway (a `router` proxy labelled `istio: egressgateway`) from an in-process control plane,
 * and an "external" HTTP server on 127.0.0.61 reached by a name (`edition.cnn.com`) that only
 * a fake DNS server knows (both proxies' `--dns-resolvers`): nothing real is ever resolved.
 * The task's YAML (ServiceEntry with resolution DNS, Gateway, DestinationRule subset, and the
 * VirtualService bound to `mesh` and the gateway) routes sidecar -> egress gateway -> external;
 * the stats of both proxies show the hops. Then a new DNS answer moves the external host.
 */
import t from 'tap';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import tls from 'node:tls';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { ControlPlane } from '@minimesh/control-plane/server/control-plane';
import { startXdsProxy } from '@minimesh/proxy/xds-mode';
import { log } from '@minimesh/proxy/log';
import { httpGet, until, type Reply } from './helpers/local-mesh.js';
import { startFakeDnsServer, type FakeDnsServer } from '@minimesh/mesh/fake-dns-server';
import { CertificateAuthority, createRootCa } from '@minimesh/control-plane/security/certificate-authority';

log.level = 'warn';
const CLIENT_IP = '127.0.0.74';
const GATEWAY_IP = '127.0.0.62';
const EXTERNAL_IPS = ['127.0.0.61', '127.0.0.63'];
const EXTERNAL = 'edition.cnn.com';

interface Teardown {
  teardown(fn: () => unknown): void;
}

/** GET through the client sidecar's forward proxy, as `curl -x` would. */
const get = (url: string): Promise<Reply> => httpGet(CLIENT_IP, 15001, url, { host: new URL(url).host });

/** The "external" servers: the same free port on each address, answering who they are. */
async function startExternal(t: Teardown): Promise<{ port: number; hosts: string[] }> {
  const hosts: string[] = [];
  for (let attempt = 0; ; attempt++) {
    const servers: http.Server[] = [];
    let port = 0;
    try {
      for (const ip of EXTERNAL_IPS) {
        const s = http.createServer((req, res) => {
          hosts.push(req.headers.host ?? '');
          res.end(`external ${ip}`);
        });
        s.listen(port, ip);
        servers.push(s);
        await once(s, 'listening');
        port = (s.address() as net.AddressInfo).port;
      }
      for (const s of servers) t.teardown(() => s.close());
      return { port, hosts };
    } catch (e) {
      for (const s of servers) s.close();
      if (attempt > 5) throw e;
    }
  }
}

// Istio's egress task, unchanged but for the ServiceEntry port's targetPort (no root for port 80).
const TASK = (externalPort: number): string => `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: cnn }
spec:
  hosts: [${EXTERNAL}]
  ports:
  - { number: 80, name: http-port, protocol: HTTP, targetPort: ${externalPort} }
  - { number: 443, name: https, protocol: HTTPS }
  resolution: DNS
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: istio-egressgateway }
spec:
  selector: { istio: egressgateway }
  servers:
  - port: { number: 80, name: http, protocol: HTTP }
    hosts: [${EXTERNAL}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: egressgateway-for-cnn }
spec:
  host: istio-egressgateway.istio-system.svc.cluster.local
  subsets: [{ name: cnn }]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: direct-cnn-through-egress-gateway }
spec:
  hosts: [${EXTERNAL}]
  gateways: [istio-egressgateway, mesh]
  http:
  - match: [{ gateways: [mesh], port: 80 }]
    route: [{ destination: { host: istio-egressgateway.istio-system.svc.cluster.local, subset: cnn, port: { number: 80 } }, weight: 100 }]
  - match: [{ gateways: [istio-egressgateway], port: 80 }]
    route: [{ destination: { host: ${EXTERNAL}, port: { number: 80 } }, weight: 100 }]
`;

// The egress gateway's Service (demo profile: ClusterIP, http2 80 -> 8080) and its endpoint.
const GATEWAY_SERVICE = `apiVersion: v1
kind: Namespace
metadata: { name: istio-system }
---
apiVersion: v1
kind: Service
metadata: { name: istio-egressgateway, namespace: istio-system, labels: { istio: egressgateway } }
spec:
  selector: { istio: egressgateway }
  ports: [{ name: http2, port: 80, targetPort: 8080 }, { name: https, port: 443, targetPort: 8443 }]
---
apiVersion: v1
kind: Endpoints
metadata: { name: istio-egressgateway, namespace: istio-system }
subsets: [{ addresses: [{ ip: ${GATEWAY_IP} }], ports: [{ name: http2, port: 8080 }, { name: https, port: 8443 }] }]
`;

async function stat(adminPort: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${adminPort}/stats`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}: `));
  return line === undefined ? 0 : Number(line.slice(name.length + 2));
}

interface EgressMesh {
  readonly dns: FakeDnsServer;
  readonly clientAdmin: number;
  readonly gatewayAdmin: number;
}

/** A control plane on `files`, the egress gateway and the client sidecar, all resolving with a fake DNS server. */
async function startEgressMesh(t: Teardown, files: Record<string, string>): Promise<EgressMesh> {
  const dns = await startFakeDnsServer({ [EXTERNAL]: [EXTERNAL_IPS[0]] });
  t.teardown(() => dns.close());
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'minimesh-egress-'));
  for (const [name, text] of Object.entries({ 'gateway-service.yaml': GATEWAY_SERVICE, ...files })) fs.writeFileSync(path.join(dir, name), text);
  const cp = new ControlPlane({ source: { kind: 'folder', dir }, xdsAddress: { host: '127.0.0.1', port: 0 }, debugAddress: { host: '127.0.0.1', port: 0 }, local: true, print: () => {} });
  await cp.start();
  t.teardown(async () => {
    await cp.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const common = { server: `127.0.0.1:${cp.xdsPort}`, adminAddress: '127.0.0.1', adminPort: 0, healthAddress: '127.0.0.1', healthPort: undefined, drainTimeMs: 100, backoff: { initialMs: 50, maxMs: 200 }, dnsResolvers: [dns.address] };
  const gateway = await startXdsProxy({
    ...common,
    node: { id: `router~${GATEWAY_IP}~istio-egressgateway-local-00001.istio-system~istio-system.svc.cluster.local`, cluster: 'istio-egressgateway.istio-system', metadata: { LABELS: { istio: 'egressgateway', app: 'istio-egressgateway' } } },
  });
  t.teardown(() => gateway.stop());
  const client = await startXdsProxy({
    ...common,
    node: { id: `sidecar~${CLIENT_IP}~sleep-local-00001.default~default.svc.cluster.local`, cluster: 'sleep.default', metadata: { LABELS: { app: 'sleep' } } },
  });
  t.teardown(() => client.stop());
  return { dns, clientAdmin: client.adminPort!, gatewayAdmin: gateway.adminPort! };
}

t.test('sidecar -> egress gateway -> external host (resolution DNS), as in the egress gateway task', async (t) => {
  const ext = await startExternal(t);
  const { dns, clientAdmin, gatewayAdmin } = await startEgressMesh(t, { 'egress-task.yaml': TASK(ext.port) });
  await until('the external host answers through the mesh', async () => (await get(`http://${EXTERNAL}/politics`)).status === 200, 20000);
  const r = await get(`http://${EXTERNAL}/politics`);
  t.equal(r.body, `external ${EXTERNAL_IPS[0]}`, 'the answer comes from the address DNS gave');
  t.equal(ext.hosts[ext.hosts.length - 1], EXTERNAL, 'the external server sees its own name as Host');
  const viaGateway = await stat(clientAdmin, 'cluster.outbound|80|cnn|istio-egressgateway.istio-system.svc.cluster.local.upstream_rq_total');
  t.ok(viaGateway >= 2, `the sidecar sent the requests to the egress gateway (${viaGateway})`);
  t.equal(await stat(clientAdmin, `cluster.outbound|80||${EXTERNAL}.upstream_rq_total`), 0, 'the sidecar never went out directly');
  const out = await stat(gatewayAdmin, `cluster.outbound|80||${EXTERNAL}.upstream_rq_total`);
  t.ok(out >= 2, `the egress gateway sent them out (${out})`);
  t.ok(dns.queries.includes(`A ${EXTERNAL}`), 'the name was resolved by the test name server');

  // The external host moves: the gateway's periodic resolution follows it (Envoy's 5 s refresh).
  dns.records.set(EXTERNAL, [EXTERNAL_IPS[1]]);
  await until('the new address is used', async () => (await get(`http://${EXTERNAL}/`)).body === `external ${EXTERNAL_IPS[1]}`, 15000);
  t.pass('after a DNS change the egress gateway reaches the new address');
});

// "Egress gateways with TLS origination": the gateway speaks HTTPS to the external host
// (DestinationRule tls SIMPLE, the test CA as caCertificates); the app sends plain HTTP.
const TLS_ORIGINATION = (tlsPort: number, caFile: string): string =>
  TASK(1)
    .replace('{ number: 443, name: https, protocol: HTTPS }', `{ number: 443, name: https-port-for-tls-origination, protocol: HTTPS, targetPort: ${tlsPort} }`)
    .replace(/route: \[\{ destination: \{ host: edition\.cnn\.com, port: \{ number: 80 \} \}, weight: 100 \}\]/, 'route: [{ destination: { host: edition.cnn.com, port: { number: 443 } }, weight: 100 }]') +
  `---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: originate-tls-for-edition-cnn-com }
spec:
  host: ${EXTERNAL}
  trafficPolicy:
    loadBalancer: { simple: ROUND_ROBIN }
    portLevelSettings:
    - port: { number: 443 }
      tls: { mode: SIMPLE, caCertificates: ${caFile}, sni: ${EXTERNAL} }
`;

t.test('TLS origination at the egress gateway: DestinationRule tls SIMPLE to the external host', async (t) => {
  const root = await createRootCa();
  const ca = await CertificateAuthority.load(root.certPem, root.keyPem);
  const cert = await ca.signServing({ dnsNames: [EXTERNAL] });
  const caDir = fs.mkdtempSync(path.join(os.tmpdir(), 'minimesh-egress-ca-'));
  t.teardown(() => fs.rmSync(caDir, { recursive: true, force: true }));
  const caFile = path.join(caDir, 'external-ca.pem');
  fs.writeFileSync(caFile, root.certPem);
  const seen: { sni: string | false; host: string }[] = [];
  const server = https.createServer({ cert: cert.certChainPem, key: cert.keyPem }, (req, res) => {
    seen.push({ sni: (req.socket as tls.TLSSocket).servername ?? false, host: req.headers.host ?? '' });
    res.end('external over TLS');
  });
  server.listen(0, EXTERNAL_IPS[0]);
  await once(server, 'listening');
  t.teardown(() => server.close());
  const tlsPort = (server.address() as net.AddressInfo).port;
  const { gatewayAdmin } = await startEgressMesh(t, { 'egress-task.yaml': TLS_ORIGINATION(tlsPort, caFile) });
  await until('the external host answers over TLS', async () => (await get(`http://${EXTERNAL}/politics`)).body === 'external over TLS', 20000);
  t.equal(seen[seen.length - 1].sni, EXTERNAL, 'the gateway sent the SNI of the DestinationRule');
  t.equal(seen[seen.length - 1].host, EXTERNAL);
  t.ok((await stat(gatewayAdmin, `cluster.outbound|443||${EXTERNAL}.ssl.handshake`)) >= 1, 'TLS handshakes counted on the gateway cluster');
});
