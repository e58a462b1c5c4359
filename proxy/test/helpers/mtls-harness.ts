/**
 * For the mTLS tests: proxies started from a bootstrap with their secrets put in the
 * SecretStore (as the workload identity client does), apps on loopback, and TLS clients.
 * Not a test file.
 */
import http from 'node:http';
import net from 'node:net';
import tls from 'node:tls';
import { join } from 'node:path';
import { existsSync, readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { startProxy, type RunningProxy } from '../../src/main.js';
import { tempDir, writeBootstrap, type TestLike } from './harness.js';
import type { TestCa, TestLeaf } from './mesh-certs.js';
import { sleep } from './h2.js';

export interface MeshProxy {
  readonly running: RunningProxy;
  readonly dir: string;
  readonly logPath: string;
  port(listener: string): number;
  /** Puts a workload certificate (`default`) and the root (`ROOTCA`) in the proxy's secret store. */
  setSecrets(leaf: TestLeaf, ca: TestCa): void;
  accessLog(n: number, timeoutMs?: number): Promise<Record<string, string>[]>;
}

export async function startMeshProxy(t: TestLike, build: (logPath: string) => unknown): Promise<MeshProxy> {
  const dir = tempDir();
  const logPath = join(dir, 'access.log');
  const file = writeBootstrap(dir, build(logPath));
  const running = await startProxy({ bootstrap: file, healthPort: undefined, healthAddress: '127.0.0.1', drainTimeMs: 100 });
  t.teardown(() => running.stop());
  return {
    running,
    dir,
    logPath,
    port: (name) => {
      const l = running.proxy.listeners.get(name);
      if (l === undefined) throw new Error(`no listener ${name}`);
      return l.port;
    },
    setSecrets: (leaf, ca) => {
      running.proxy.secrets.set('default', { certificateChain: leaf.certChainPem, privateKey: leaf.keyPem, lastUpdated: new Date() });
      running.proxy.secrets.set('ROOTCA', { trustedCa: ca.certPem, lastUpdated: new Date() });
    },
    accessLog: async (n, timeoutMs = 3000) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const text = existsSync(logPath) ? readFileSync(logPath, 'utf8') : '';
        const lines = text.split('\n').filter((l) => l !== '');
        if (lines.length >= n || Date.now() > deadline) return lines.map((l) => JSON.parse(l) as Record<string, string>);
        await sleep(20);
      }
    },
  };
}

/** An HTTP/1.1 app answering `app:<path>` (and counting requests). */
export async function startHttpApp(t: TestLike): Promise<{ port: number; paths: string[] }> {
  const paths: string[] = [];
  const server = http.createServer((req, res) => {
    paths.push(req.url ?? '');
    req.resume();
    req.on('end', () => res.end(`app:${req.url}`));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => {
    server.closeAllConnections();
    server.close();
  });
  return { port: (server.address() as AddressInfo).port, paths };
}

/** A TCP app that records the first bytes of each connection and echoes `echo:` + what it gets. */
export async function startTcpApp(t: TestLike): Promise<{ port: number; firstBytes: Buffer[] }> {
  const firstBytes: Buffer[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('error', () => {});
    s.once('data', (d) => firstBytes.push(d));
    s.on('data', (d) => s.write(Buffer.concat([Buffer.from('echo:'), d])));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  return { port: (server.address() as AddressInfo).port, firstBytes };
}

export interface TlsClientOpts {
  readonly port: number;
  readonly ca?: TestCa;
  readonly leaf?: TestLeaf;
  readonly alpn?: string[];
  readonly servername?: string;
}

/** What a TLS client got: the handshake (ALPN, the server's certificate) and the reply to `send`, or the error. */
export interface TlsExchange {
  readonly error?: string;
  readonly alpn?: string | false | null;
  readonly serverSan?: string;
  readonly serverFingerprint?: string;
  readonly reply: string;
}

export function tlsExchange(o: TlsClientOpts, send: string, waitMs = 1500): Promise<TlsExchange> {
  return new Promise((resolve) => {
    let reply = '';
    let alpn: string | false | null | undefined;
    let serverSan: string | undefined;
    let serverFingerprint: string | undefined;
    let error: string | undefined;
    const s = tls.connect({
      host: '127.0.0.1',
      port: o.port,
      ...(o.ca ? { ca: o.ca.certPem } : { rejectUnauthorized: false }),
      ...(o.leaf ? { cert: o.leaf.certChainPem, key: o.leaf.keyPem } : {}),
      ...(o.alpn ? { ALPNProtocols: o.alpn } : {}),
      ...(o.servername ? { servername: o.servername } : {}),
      checkServerIdentity: () => undefined,
    });
    const done = (): void => {
      clearTimeout(timer);
      s.destroy();
      resolve({ ...(error !== undefined ? { error } : {}), alpn, serverSan, serverFingerprint, reply });
    };
    const timer = setTimeout(done, waitMs);
    s.on('secureConnect', () => {
      alpn = s.alpnProtocol;
      const c = s.getPeerCertificate();
      serverSan = c.subjectaltname;
      serverFingerprint = c.fingerprint256;
      s.write(send);
    });
    s.on('data', (d: Buffer) => {
      reply += d.toString('latin1');
      if (/\r\n\r\n/.test(reply) && /content-length: (\d+)/i.test(reply)) {
        const len = Number(/content-length: (\d+)/i.exec(reply)![1]);
        if (reply.length - reply.indexOf('\r\n\r\n') - 4 >= len) done();
      }
    });
    s.on('error', (e: NodeJS.ErrnoException) => {
      error = e.code ?? e.message;
    });
    s.on('close', done);
  });
}

/** A plaintext request/reply on a raw socket: what came back before the server closed (or `waitMs`). */
export function plainExchange(port: number, send: string, waitMs = 1000): Promise<{ reply: string; closed: boolean }> {
  return new Promise((resolve) => {
    let reply = '';
    let closed = false;
    const s = net.connect({ host: '127.0.0.1', port }, () => s.write(send));
    const timer = setTimeout(() => {
      s.destroy();
      resolve({ reply, closed });
    }, waitMs);
    s.on('data', (d: Buffer) => (reply += d.toString('latin1')));
    s.on('error', () => {});
    s.on('close', () => {
      closed = true;
      clearTimeout(timer);
      resolve({ reply, closed });
    });
  });
}

/** GET through a plain HTTP/1.1 listener: status, body. */
export function httpGet(port: number, path: string, agent?: http.Agent): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, ...(agent ? { agent } : {}) }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
  });
}
