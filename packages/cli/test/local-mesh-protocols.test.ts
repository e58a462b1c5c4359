/**
 * The local mesh's sidecars for clients that tunnel through their HTTP proxy: a control plane
 * (ports 0, local mode) on a temp YAML folder, a client sidecar (127.0.0.71) and a server
 * sidecar (127.0.0.72), both in xDS mode. Through `CONNECT` to the client sidecar:
 *   - a `ws` client reaches a `ws` server behind the server sidecar (text, binary, a large
 *     message, a close code), the upgrade routed by the client sidecar and allowed by both;
 *   - a TCP client reaches a TCP service (port named `tcp-`): the client sidecar terminates
 *     CONNECT to the service's cluster, the server sidecar's tcp_proxy hands it to the app.
 */
import t from 'tap';
import net from 'node:net';
import { once } from 'node:events';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { log } from '@minimesh/proxy/log';
import { startLocalMesh, until } from './helpers/local-mesh.js';

log.level = 'warn';
const CLIENT_IP = '127.0.0.71';
const SERVER_IP = '127.0.0.72';

async function listen(server: net.Server | WebSocketServer): Promise<number> {
  await once(server, 'listening');
  return (server.address() as net.AddressInfo).port;
}

/** A CONNECT tunnel through the client sidecar; resolves once its 200 is read. */
async function tunnel(authority: string): Promise<{ socket: net.Socket; head: string }> {
  const socket = net.connect({ host: CLIENT_IP, port: 15001, allowHalfOpen: true });
  socket.write(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n\r\n`);
  let buf = Buffer.alloc(0);
  for (;;) {
    const [d] = (await once(socket, 'data')) as [Buffer];
    buf = Buffer.concat([buf, d]);
    const i = buf.indexOf('\r\n\r\n');
    if (i >= 0) {
      if (i + 4 < buf.length) socket.unshift(buf.subarray(i + 4));
      return { socket, head: buf.toString('latin1', 0, i) };
    }
  }
}

t.test('WebSocket and TCP through two sidecars of the local mesh, over CONNECT', async (t) => {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, maxPayload: 16 * 1024 * 1024 });
  wss.on('connection', (ws) =>
    ws.on('message', (data: RawData, isBinary: boolean) => {
      if (!isBinary && data.toString() === 'bye') ws.close(4002, 'see you');
      else ws.send(data, { binary: isBinary });
    }),
  );
  const wsPort = await listen(wss);
  const echo = net.createServer({ allowHalfOpen: true }, (s) => {
    s.on('data', (d) => s.write(Buffer.concat([Buffer.from('echo:'), d])));
    s.on('end', () => s.end());
    s.on('error', () => {});
  });
  echo.listen(0, '127.0.0.1');
  const tcpPort = await listen(echo);
  const mesh = await startLocalMesh(t, { 'services.yaml': `apiVersion: v1
kind: Namespace
metadata: { name: test }
---
apiVersion: v1
kind: Service
metadata: { name: chat, namespace: test }
spec: { ports: [{ name: http, port: 80, targetPort: ${wsPort} }] }
---
apiVersion: v1
kind: Endpoints
metadata: { name: chat, namespace: test }
subsets: [{ addresses: [{ ip: ${SERVER_IP} }], ports: [{ name: http, port: ${wsPort} }] }]
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
` });
  await mesh.sidecar({ ip: CLIENT_IP, name: 'client' }, { adminAddress: '127.0.0.1', adminPort: undefined });
  await mesh.sidecar({ ip: SERVER_IP, name: 'server' }, { adminAddress: '127.0.0.1', adminPort: undefined });
  t.teardown(() => {
    for (const c of wss.clients) c.terminate();
    wss.close();
    echo.close();
  });
  // Both sidecars hold their config once the server's inbound listeners answer.
  await until('the server sidecar listens', async () => {
    const s = net.connect({ host: SERVER_IP, port: tcpPort });
    s.on('error', () => {});
    const ok = await Promise.race([once(s, 'connect').then(() => true), once(s, 'error').then(() => false)]);
    s.destroy();
    return ok;
  }, 10000);

  await t.test('a ws client through CONNECT: echo, a large message, a close code', async (t) => {
    let opened: WebSocket | undefined;
    await until('the chat service is routed', async () => {
      const { socket, head } = await tunnel('chat.test.svc.cluster.local:80');
      if (!/^HTTP\/1\.1 200 /.test(head)) {
        socket.destroy();
        return false;
      }
      const ws = new WebSocket('ws://chat.test.svc.cluster.local/room', { createConnection: () => socket, maxPayload: 16 * 1024 * 1024 });
      const ok = await new Promise<boolean>((resolve) => {
        ws.once('open', () => resolve(true));
        ws.once('error', () => resolve(false));
      });
      if (ok) opened = ws;
      else ws.terminate();
      return ok;
    }, 10000);
    const ws = opened!;
    t.teardown(() => ws.terminate());
    const next = (): Promise<{ data: Buffer; isBinary: boolean }> => new Promise((resolve) => ws.once('message', (data: RawData, isBinary: boolean) => resolve({ data: data as Buffer, isBinary })));
    let m = next();
    ws.send('hello through two sidecars');
    t.equal((await m).data.toString(), 'hello through two sidecars', 'text frame echoed');
    m = next();
    const bin = Buffer.from([0, 1, 2, 250, 251, 252]);
    ws.send(bin);
    const got = await m;
    t.ok(got.isBinary && got.data.equals(bin), 'binary frame echoed');
    m = next();
    const big = Buffer.alloc(3 * 1024 * 1024, 7);
    ws.send(big);
    t.ok((await m).data.equals(big), 'a 3 MiB message echoed whole');
    const closed = new Promise<[number, string]>((resolve) => ws.once('close', (code: number, reason: Buffer) => resolve([code, reason.toString()])));
    ws.send('bye');
    t.same(await closed, [4002, 'see you'], 'the close code and reason from the server');
  });

  await t.test('a TCP client through CONNECT to a tcp- port: bytes both ways, half-close', async (t) => {
    const { socket, head } = await tunnel('store.test.svc.cluster.local:7000');
    t.match(head, /^HTTP\/1\.1 200 /, 'the client sidecar answers the CONNECT');
    let out = '';
    socket.on('data', (d: Buffer) => (out += d.toString('latin1')));
    socket.write('ping');
    await until('the echo', async () => out === 'echo:ping', 5000);
    socket.end();
    await once(socket, 'end');
    t.equal(out, 'echo:ping', 'through the client sidecar (CONNECT terminated to outbound|7000||store...) and the server sidecar (tcp_proxy)');
    const short = await tunnel('store:7000');
    t.match(short.head, /^HTTP\/1\.1 200 /, 'the short name with the port is a domain of the service too');
    short.socket.destroy();
  });
});
