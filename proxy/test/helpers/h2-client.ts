/** node:http2 requests for the HTTP/2 tests (prior-knowledge h2c). Not a test file. */
import http2, { type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http2';
import type { TestLike } from './harness.js';

export interface H2Response {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  trailers: IncomingHttpHeaders | undefined;
}

export interface H2RequestOpts {
  method?: string;
  path?: string;
  headers?: OutgoingHttpHeaders;
  /** Written piece by piece (a stream of request data). */
  body?: string | Buffer | (string | Buffer)[];
  timeoutMs?: number;
}

/** One h2c session to the proxy, closed at teardown. */
export function h2Connect(t: TestLike, port: number, settings: http2.Settings = {}): http2.ClientHttp2Session {
  const session = http2.connect(`http://127.0.0.1:${port}`, { settings });
  session.on('error', () => {});
  t.teardown(() => session.destroy());
  return session;
}

export function h2Request(session: http2.ClientHttp2Session, opts: H2RequestOpts = {}): Promise<H2Response> {
  return new Promise((resolve, reject) => {
    const body = opts.body;
    const req = session.request({ ':method': opts.method ?? 'GET', ':path': opts.path ?? '/', ...opts.headers }, { endStream: body === undefined });
    const timer = setTimeout(() => {
      req.close();
      reject(new Error('h2 request timed out'));
    }, opts.timeoutMs ?? 5000);
    let status = 0;
    let headers: IncomingHttpHeaders = {};
    let trailers: IncomingHttpHeaders | undefined;
    const chunks: Buffer[] = [];
    req.on('response', (h) => {
      headers = h;
      status = Number(h[':status']);
    });
    req.on('trailers', (h) => (trailers = h));
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      clearTimeout(timer);
      resolve({ status, headers, body: Buffer.concat(chunks), trailers });
    });
    req.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    if (body !== undefined) {
      for (const piece of Array.isArray(body) ? body : [body]) req.write(piece);
      req.end();
    }
  });
}

/** A gRPC-shaped POST of `body` with the request trailer `x-req-trailer: sent`; the response's status, body and trailers. */
export function h2PostWithTrailers(s: http2.ClientHttp2Session, path: string, body: string): Promise<{ status: number; body: string; trailers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = s.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers' }, { waitForTrailers: true });
    req.on('wantTrailers', () => req.sendTrailers({ 'x-req-trailer': 'sent' }));
    let status = 0;
    let text = '';
    let trailers: Record<string, unknown> = {};
    req.on('response', (h) => (status = Number(h[':status'])));
    req.on('data', (c: Buffer) => (text += c.toString()));
    req.on('trailers', (h) => (trailers = h));
    req.on('end', () => resolve({ status, body: text, trailers }));
    req.on('error', reject);
    req.end(body);
  });
}
