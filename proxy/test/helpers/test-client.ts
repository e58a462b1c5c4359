/**
 * Clients for the proxy's behaviour tests: `node:http` requests and raw sockets that send
 * exact bytes, the parsing of what comes back, and an address whose connects hang. Not a test file.
 */
import http from 'node:http';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { TestLike } from './test-like.js';

// ---------------------------------------------------------------------------------------
// Clients

export interface RequestOpts {
  method?: string;
  path?: string;
  headers?: Record<string, string | string[]>;
  body?: string | Buffer;
  agent?: http.Agent | false;
  timeoutMs?: number;
}

export interface Resp {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** Header names as received, lower case. */
  headerNames: string[];
  body: string;
}

/** One HTTP request with node:http (no keep-alive unless an agent is given). */
export function request(port: number, opts: RequestOpts = {}): Promise<Resp> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: opts.method ?? 'GET', path: opts.path ?? '/', headers: opts.headers, agent: opts.agent ?? false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const headerNames: string[] = [];
        for (let i = 0; i < res.rawHeaders.length; i += 2) headerNames.push(res.rawHeaders[i].toLowerCase());
        resolve({ status: res.statusCode!, headers: res.headers, headerNames, body: Buffer.concat(chunks).toString('latin1') });
      });
    });
    req.setTimeout(opts.timeoutMs ?? 5000, () => req.destroy(new Error('client timeout')));
    req.on('error', reject);
    req.end(opts.body);
  });
}

export interface RawOpts {
  /** Stop reading when this is true of what was read (default: wait for close). */
  until?: (text: string) => boolean;
  /** Give up after this long (default 2000 ms); the result says `closed: false`. */
  timeoutMs?: number;
}

export interface RawResult {
  text: string;
  /** The proxy closed the connection. */
  closed: boolean;
}

/** Connects, writes exact bytes, reads until close / `until` / timeout. */
export function rawExchange(t: TestLike | undefined, port: number, bytes: string | Buffer, opts: RawOpts = {}): Promise<RawResult> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    t?.teardown(() => socket.destroy());
    let text = '';
    let done = false;
    const finish = (closed: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ text, closed });
    };
    const timer = setTimeout(() => finish(false), opts.timeoutMs ?? 2000);
    socket.on('error', () => {});
    socket.on('data', (d: Buffer) => {
      text += d.toString('latin1');
      if (opts.until?.(text)) finish(false);
    });
    socket.on('close', () => finish(true));
    socket.on('connect', () => socket.write(bytes));
  });
}

/** A raw client socket to drive step by step. */
export interface RawClient {
  readonly socket: net.Socket;
  text: string;
  closed: Promise<void>;
  isClosed: boolean;
  write(b: string | Buffer): void;
  /** Waits until `pred(text)` (or rejects after `timeoutMs`). */
  waitFor(pred: (text: string) => boolean, timeoutMs?: number): Promise<string>;
}

export async function rawClient(t: TestLike, port: number): Promise<RawClient> {
  const socket = net.connect({ host: '127.0.0.1', port });
  t.teardown(() => socket.destroy());
  socket.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const c: RawClient = {
    socket,
    text: '',
    isClosed: false,
    closed: new Promise<void>((resolve) =>
      socket.on('close', () => {
        c.isClosed = true;
        resolve();
      }),
    ),
    write: (b) => void socket.write(b),
    waitFor: async (pred, timeoutMs = 2000) => {
      const deadline = Date.now() + timeoutMs;
      while (!pred(c.text)) {
        if (Date.now() > deadline || c.isClosed) {
          if (pred(c.text)) break;
          throw new Error(`timed out waiting; read so far: ${JSON.stringify(c.text)}`);
        }
        await sleep(5);
      }
      return c.text;
    },
  };
  socket.on('data', (d: Buffer) => (c.text += d.toString('latin1')));
  return c;
}

export interface ParsedResponse {
  status: number;
  headers: Record<string, string>;
  headerNames: string[];
  body: string;
}

/** Parses consecutive HTTP/1.1 responses out of raw text (content-length, chunked, or to the end). */
export function parseResponses(text: string, headRequests = 0): ParsedResponse[] {
  const out: ParsedResponse[] = [];
  let pos = 0;
  while (pos < text.length) {
    const end = text.indexOf('\r\n\r\n', pos);
    if (end === -1) break;
    const lines = text.slice(pos, end).split('\r\n');
    const status = Number(lines[0].split(' ')[1]);
    const headers: Record<string, string> = {};
    const headerNames: string[] = [];
    for (const l of lines.slice(1)) {
      const i = l.indexOf(':');
      const n = l.slice(0, i).toLowerCase();
      headerNames.push(n);
      headers[n] = l.slice(i + 1).trim();
    }
    pos = end + 4;
    let body = '';
    if (out.length < headRequests) {
      // HEAD: no body whatever the headers say
    } else if (headers['transfer-encoding'] === 'chunked') {
      for (;;) {
        const eol = text.indexOf('\r\n', pos);
        if (eol === -1) break;
        const size = parseInt(text.slice(pos, eol), 16);
        pos = eol + 2;
        if (size === 0) {
          pos += 2;
          break;
        }
        body += text.slice(pos, pos + size);
        pos += size + 2;
      }
    } else if (headers['content-length'] !== undefined) {
      const n = Number(headers['content-length']);
      body = text.slice(pos, pos + n);
      pos += n;
    } else {
      body = text.slice(pos);
      pos = text.length;
    }
    out.push({ status, headers, headerNames, body });
  }
  return out;
}

export const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

export { sleep };

/**
 * An address whose connects hang (SYN dropped): a child process listens with backlog 1 and
 * blocks its event loop; the accept queue is filled first. Killed at teardown.
 */
export async function blackhole(t: TestLike): Promise<number> {
  const { spawn } = await import('node:child_process');
  const child = spawn(
    process.execPath,
    ['-e', "const s=require('net').createServer();s.listen({port:0,host:'127.0.0.1',backlog:1},()=>{console.log(s.address().port);setTimeout(()=>Atomics.wait(new Int32Array(new SharedArrayBuffer(4)),0,0,30000),50)})"],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  t.teardown(() => void child.kill('SIGKILL'));
  const port = await new Promise<number>((resolve) => child.stdout.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))));
  await sleep(100);
  const fillers: net.Socket[] = [];
  t.teardown(() => fillers.forEach((s) => s.destroy()));
  for (let i = 0; i < 16; i++) {
    const s = net.connect({ host: '127.0.0.1', port });
    s.on('error', () => {});
    fillers.push(s);
    const connected = await Promise.race([new Promise<boolean>((r) => s.once('connect', () => r(true))), sleep(150).then(() => false)]);
    if (!connected) return port;
  }
  throw new Error('could not fill the accept queue');
}
