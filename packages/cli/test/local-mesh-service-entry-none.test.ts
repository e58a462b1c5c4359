/**
 * A ServiceEntry with `resolution: NONE` in the local mesh, end to end: an in-process control
 * plane and a client sidecar (forward proxy on 15001, no capture). The entry's HTTP port routes
 * to an ORIGINAL_DST cluster, so each request goes where its client addressed it: a "legacy"
 * HTTP server on 127.0.0.155, named `legacy.example` only by a fake DNS server the sidecar
 * resolves with (nothing real is resolved), or addressed by its IP, the entry's address. A
 * raw TCP port of the entry goes through CONNECT the same way.
 */
import t from 'tap';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { ControlPlane } from '@minimesh/control-plane/server/control-plane';
import { startXdsProxy } from '@minimesh/proxy/xds-mode';
import { log } from '@minimesh/proxy/log';
import { httpGet, until, type Reply } from './helpers/local-mesh.js';
import { startFakeDnsServer } from '@minimesh/mesh/fake-dns-server';

log.level = 'warn';
const CLIENT_IP = '127.0.0.156';
const LEGACY_IP = '127.0.0.155';
const LEGACY = 'legacy.example';

/** GET through the client sidecar's forward proxy, as `curl -x` would. */
const get = (url: string): Promise<Reply> => httpGet(CLIENT_IP, 15001, url, { host: new URL(url).host });

/** CONNECT through the sidecar, one message, what comes back after the 200. */
async function tunnel(authority: string, data: string): Promise<string> {
  const socket = net.connect({ port: 15001, host: CLIENT_IP });
  socket.write(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n\r\n`);
  let buf = '';
  let sent = false;
  socket.on('data', (d: Buffer) => {
    buf += d.toString();
    if (!sent && buf.startsWith('HTTP/1.1 200') && buf.includes('\r\n\r\n')) {
      sent = true;
      socket.write(data);
    }
  });
  await Promise.race([once(socket, 'end'), once(socket, 'close')]);
  return buf.slice(buf.indexOf('\r\n\r\n') + 4);
}

const ENTRY = (httpPort: number, tcpPort: number): string => `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: legacy }
spec:
  hosts: [${LEGACY}]
  addresses: [${LEGACY_IP}]
  ports:
  - { number: ${httpPort}, name: http, protocol: HTTP }
  - { number: ${tcpPort}, name: tcp, protocol: TCP }
  resolution: NONE
  location: MESH_EXTERNAL
`;

t.test('resolution NONE: requests go to the address the client named, through the ORIGINAL_DST cluster', async (t) => {
  const web = http.createServer((req, res) => res.end(`legacy ${req.headers.host} ${req.url}`));
  web.listen(0, LEGACY_IP);
  await once(web, 'listening');
  t.teardown(() => web.close());
  const httpPort = (web.address() as net.AddressInfo).port;
  const tcp = net.createServer((s) => s.on('data', (d: Buffer) => s.end(`tcp ${d.toString()}`)));
  tcp.listen(0, LEGACY_IP);
  await once(tcp, 'listening');
  t.teardown(() => tcp.close());
  const tcpPort = (tcp.address() as net.AddressInfo).port;

  const dns = await startFakeDnsServer({ [LEGACY]: [LEGACY_IP] });
  t.teardown(() => dns.close());
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'minimesh-se-none-'));
  fs.writeFileSync(path.join(dir, 'legacy.yaml'), ENTRY(httpPort, tcpPort));
  const cp = new ControlPlane({ source: { kind: 'folder', dir }, xdsAddress: { host: '127.0.0.1', port: 0 }, debugAddress: { host: '127.0.0.1', port: 0 }, local: true, print: () => {} });
  await cp.start();
  t.teardown(async () => {
    await cp.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const client = await startXdsProxy({
    server: `127.0.0.1:${cp.xdsPort}`,
    adminAddress: '127.0.0.1',
    adminPort: 0,
    healthAddress: '127.0.0.1',
    healthPort: undefined,
    drainTimeMs: 100,
    backoff: { initialMs: 50, maxMs: 200 },
    dnsResolvers: [dns.address],
    node: { id: `sidecar~${CLIENT_IP}~sleep-local-00001.default~default.svc.cluster.local`, cluster: 'sleep.default', metadata: { LABELS: { app: 'sleep' } } },
  });
  t.teardown(() => client.stop());

  const cluster = `outbound|${httpPort}||${LEGACY}`;
  await until('the entry answers through the mesh', async () => (await get(`http://${LEGACY}:${httpPort}/a`)).status === 200, 20000);
  t.equal((await get(`http://${LEGACY}:${httpPort}/by-name`)).body, `legacy ${LEGACY}:${httpPort} /by-name`, 'by name: the address the name resolves to');
  t.equal((await get(`http://${LEGACY_IP}:${httpPort}/by-ip`)).body, `legacy ${LEGACY_IP}:${httpPort} /by-ip`, "by the entry's address");
  t.ok(dns.queries.includes(`A ${LEGACY}`), 'the sidecar resolved the name with the test name server');
  const stats = await (await fetch(`http://127.0.0.1:${client.adminPort}/stats`)).text();
  const line = stats.split('\n').find((l) => l.startsWith(`cluster.${cluster}.upstream_rq_2xx: `));
  t.ok(line !== undefined && Number(line.split(': ')[1]) >= 3, `the requests went through ${cluster} (${line})`);

  t.equal(await tunnel(`${LEGACY}:${tcpPort}`, 'ping'), 'tcp ping', 'CONNECT to the TCP port: the original destination too');
});
