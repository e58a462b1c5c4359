/**
 * The control plane's webhook port (istiod's 15017), HTTPS with the serving certificate:
 *   POST /inject, /inject/      the sidecar injector (AdmissionReview in, JSONPatch out)
 *   POST /validate, /validate/  validation of Istio's kinds
 *   GET  /httpsReady            200 once serving
 * The namespace was chosen by the webhook's namespaceSelector (an AdmissionReview carries no
 * namespace labels): every pod sent is injected unless the pod itself opts out.
 * A body that is not JSON is 400, another content type 415; nothing here crashes the process.
 */
import https from 'node:https';
import type http from 'node:http';
import { handleAdmissionReview } from '@minimesh/injector/webhook/admission-review';
import { send } from '@minimesh/injector/webhook/injector-server';
import type { InjectOptions } from '@minimesh/injector/inject-options';
import { handleValidationReview } from './validation-review.js';

export interface WebhookServerOptions {
  readonly certChainPem: string;
  readonly keyPem: string;
  /** The injector's options, or how to get them for each review (they follow the mesh config). */
  readonly inject: Partial<InjectOptions> | (() => Partial<InjectOptions>);
  /** Largest body accepted (default 8 MiB). */
  readonly maxBodyBytes?: number;
  readonly log?: (line: string) => void;
}

type Route = 'inject' | 'validate';

function route(path: string): Route | undefined {
  if (path === '/inject' || path === '/inject/') return 'inject';
  if (path === '/validate' || path === '/validate/') return 'validate';
  return undefined;
}

function readJson(req: http.IncomingMessage, max: number): Promise<{ body: unknown } | { status: number; error: string }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= max) chunks.push(c);
    });
    req.on('error', () => resolve({ status: 400, error: 'request aborted' }));
    req.on('end', () => {
      if (size > max) return resolve({ status: 413, error: `body larger than ${max} bytes` });
      try {
        resolve({ body: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
      } catch (e) {
        resolve({ status: 400, error: `body is not JSON: ${(e as Error).message}` });
      }
    });
  });
}

export function createWebhookServer(o: WebhookServerOptions): https.Server {
  const max = o.maxBodyBytes ?? 8 * 1024 * 1024;
  const log = o.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const server = https.createServer({ cert: o.certChainPem, key: o.keyPem }, (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/httpsReady' && (req.method === 'GET' || req.method === 'HEAD')) return send(res, 200, { ready: true });
    const r = route(path);
    if (!r) {
      req.resume();
      return send(res, 404, { error: `no such path ${path} (POST /inject or /validate)` });
    }
    if (req.method !== 'POST') {
      req.resume();
      return send(res, 405, { error: `POST an AdmissionReview to ${path}` });
    }
    const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    if (type !== 'application/json') {
      req.resume();
      return send(res, 415, { error: `content-type must be application/json (got ${JSON.stringify(type)})` });
    }
    void readJson(req, max).then(async (read) => {
      if (!('body' in read)) return send(res, read.status, { error: read.error });
      try {
        if (r === 'validate') {
          const v = handleValidationReview(read.body);
          if (!v.allowed) log(`validate: ${v.note}`);
          return send(res, v.status, v.body);
        }
        const i = await handleAdmissionReview(read.body, typeof o.inject === 'function' ? o.inject() : o.inject);
        log(`inject: ${i.note}`);
        return send(res, i.status, i.body);
      } catch (e) {
        return send(res, 500, { error: (e as Error).message });
      }
    });
  });
  server.on('clientError', (_e, socket) => socket.destroy());
  return server;
}
