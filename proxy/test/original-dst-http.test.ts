/**
 * HTTP through an ORIGINAL_DST cluster (what a ServiceEntry with `resolution: NONE` becomes),
 * real sockets: with no capture (the forward proxy) each request goes to the address its
 * authority names, an IP as it is, a name through the proxy's resolver (a fake name server on
 * loopback); no usable destination is a 503. Hosts are made per destination.
 */
import t from 'tap';
import http from 'node:http';
import net from 'node:net';
import { once } from 'node:events';
import { startFakeDnsServer } from '@minimesh/mesh/fake-dns-server';
import { route, startTestProxy } from './helpers/harness.js';
import { serveOnIps } from './helpers/servers-on-ips.js';

const A = '127.0.0.151';
const B = '127.0.0.152';

/** HTTP servers answering their own address, on one port of several loopback addresses. */
function startBackends(t: { teardown(fn: () => unknown): void }, ips: string[]): Promise<number> {
  return serveOnIps(t, ips, (ip) => (req, res) => res.end(`${ip} ${req.headers.host} ${req.url}`));
}

/** A TCP server on `ip` that answers what it reads with a prefix naming itself. */
async function startTcpEcho(t: { teardown(fn: () => unknown): void }, ip: string): Promise<number> {
  const server = net.createServer((s) => s.on('data', (d: Buffer) => s.end(`${ip}:${d.toString()}`)));
  server.listen(0, ip);
  await once(server, 'listening');
  t.teardown(() => server.close());
  return (server.address() as net.AddressInfo).port;
}

/** CONNECT through the proxy, one line of data, everything the tunnel answers. */
async function tunnel(proxyPort: number, authority: string, data: string): Promise<string> {
  const socket = net.connect({ port: proxyPort, host: '127.0.0.1' });
  socket.write(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n\r\n`);
  const chunks: Buffer[] = [];
  let sent = false;
  socket.on('data', (d: Buffer) => {
    chunks.push(d);
    const got = Buffer.concat(chunks).toString();
    if (!sent && got.startsWith('HTTP/1.1 200') && got.includes('\r\n\r\n')) {
      sent = true;
      socket.write(data);
    }
  });
  await Promise.race([once(socket, 'end'), once(socket, 'close')]);
  return Buffer.concat(chunks).toString();
}

const ORIGINAL_DST = { endpoints: [], extra: { type: 'ORIGINAL_DST', lb_policy: 'CLUSTER_PROVIDED', load_assignment: undefined } };

t.test('the forward proxy: each request goes to the address its authority names', async (t) => {
  const port = await startBackends(t, [A, B]);
  const dns = await startFakeDnsServer({ 'legacy.example': [B] });
  t.teardown(() => dns.close());
  const p = await startTestProxy(t, { routes: [route('/', 'passthrough')], clusters: { passthrough: ORIGINAL_DST }, dnsResolvers: [dns.address] });

  const a = await p.request({ path: '/one', headers: { host: `${A}:${port}` } });
  t.equal(a.status, 200);
  t.equal(a.body, `${A} ${A}:${port} /one`, 'Host names an IP: that IP and port');
  const b = await p.request({ path: `http://${B}:${port}/two`, headers: { host: `${B}:${port}` } });
  t.equal(b.body, `${B} ${B}:${port} /two`, 'an absolute URI: its authority');
  const n = await p.request({ path: '/three', headers: { host: `legacy.example:${port}` } });
  t.equal(n.status, 200);
  t.equal(n.body, `${B} legacy.example:${port} /three`, 'a name: resolved, the Host header kept');
  t.ok(dns.queries.some((q) => q.endsWith('legacy.example')), 'the proxy asked the name server');

  const unknown = await p.request({ path: '/', headers: { host: `nowhere.example:${port}` } });
  t.equal(unknown.status, 503, 'a name that does not resolve: no healthy upstream');
  const bad = await p.request({ path: '/', headers: { host: `${A}:99999` } });
  t.equal(bad.status, 503, 'an authority that is no destination: no healthy upstream');

  const stats = await (await fetch(`http://127.0.0.1:${p.adminPort}/stats`)).text();
  t.match(stats, /cluster\.passthrough\.upstream_rq_2xx: 3/);
  const clusters = await (await fetch(`http://127.0.0.1:${p.adminPort}/clusters`)).text();
  t.match(clusters, `passthrough::${A}:${port}::rq_total::1`, '/clusters lists the hosts made per destination');
  t.match(clusters, `passthrough::${B}:${port}::rq_total::2`);
});

t.test('CONNECT to an ORIGINAL_DST cluster: the tunnel goes to the CONNECT authority', async (t) => {
  const port = await startTcpEcho(t, A);
  const dns = await startFakeDnsServer({ 'tcp.legacy.example': [A] });
  t.teardown(() => dns.close());
  const connectRoute = { match: { connect_matcher: {} }, route: { cluster: 'passthrough', upgrade_configs: [{ upgrade_type: 'CONNECT', connect_config: {} }] } };
  const p = await startTestProxy(t, {
    virtualHosts: [{ name: 'tcp', domains: ['*'], routes: [connectRoute] }],
    clusters: { passthrough: ORIGINAL_DST },
    hcm: { upgrade_configs: [{ upgrade_type: 'CONNECT' }] },
    dnsResolvers: [dns.address],
  });
  t.match(await tunnel(p.port, `${A}:${port}`, 'by-ip'), new RegExp(`^HTTP/1\\.1 200 [^]*\r\n\r\n${A.replace(/\./g, '\\.')}:by-ip$`));
  t.match(await tunnel(p.port, `tcp.legacy.example:${port}`, 'by-name'), /\r\n\r\n127\.0\.0\.151:by-name$/);
  t.match(await tunnel(p.port, `gone.legacy.example:${port}`, 'x'), /^HTTP\/1\.1 503 [^]*no healthy upstream/);
});
