/**
 * The webhook's HTTPS server: POST /inject takes an AdmissionReview (application/json) and
 * answers with the patch; GET /healthz/ready for the probe. Any other content type is 415,
 * a body that is not JSON or not a review is 400; a handler error is 500, never a crash.
 */
import https from 'node:https';
import http from 'node:http';
import { handleAdmissionReview, type NamespaceLabels } from './admission-review.js';
import type { InjectOptions } from '../inject-options.js';

export interface InjectorServerOptions {
  readonly cert: string | Buffer;
  readonly key: string | Buffer;
  readonly inject?: Partial<InjectOptions>;
  readonly namespaceLabels?: NamespaceLabels;
  /** Largest body accepted (default 8 MiB: pods are small, but not always). */
  readonly maxBodyBytes?: number;
  readonly log?: (line: string) => void;
}

/** A JSON answer with its length (the admission servers' replies). */
export function send(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

export function createInjectorServer(o: InjectorServerOptions): https.Server {
  const max = o.maxBodyBytes ?? 8 * 1024 * 1024;
  const log = o.log ?? ((l: string) => process.stdout.write(`${l}\n`));
  const server = https.createServer({ cert: o.cert, key: o.key }, (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && path === '/healthz/ready') return send(res, 200, { ready: true });
    if (path !== '/inject') return send(res, 404, { error: `no such path ${path} (POST /inject)` });
    if (req.method !== 'POST') return send(res, 405, { error: 'POST an AdmissionReview to /inject' });
    const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    if (type !== 'application/json') {
      req.resume();
      return send(res, 415, { error: `content-type must be application/json (got ${JSON.stringify(type)})` });
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let tooBig = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > max) tooBig = true;
      else chunks.push(c);
    });
    req.on('error', () => res.destroy());
    req.on('end', () => {
      if (tooBig) return send(res, 413, { error: `body larger than ${max} bytes` });
      let body: unknown;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch (e) {
        return send(res, 400, { error: `body is not JSON: ${(e as Error).message}` });
      }
      handleAdmissionReview(body, o.inject, o.namespaceLabels).then(
        (r) => {
          log(`inject: ${r.note}`);
          send(res, r.status, r.body);
        },
        (e: unknown) => send(res, 500, { error: (e as Error).message }),
      );
    });
  });
  server.on('clientError', (_e, socket) => socket.destroy());
  return server;
}
