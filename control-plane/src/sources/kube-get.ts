/**
 * Plain requests to the Kubernetes API, JSON in and out as the API server sends it: lists are
 * read this way rather than through the client library's typed models, which drop fields they
 * do not know (a misspelled field would never reach the validator) and rewrite timestamps.
 * Authentication and TLS come from the KubeConfig (`applyToHTTPSOptions`).
 */
import http from 'node:http';
import https from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';

/** An API answer that was not 2xx, with its status code (a 410 Gone means: relist). */
export class KubeApiError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
    this.name = 'KubeApiError';
  }
}

const MAX_BODY_BYTES = 256 * 1024 * 1024;

export async function kubeGetJson(kc: KubeConfig, path: string): Promise<unknown> {
  return kubeRequestJson(kc, 'GET', path);
}

/** What an API error's body says: a Status's `message`, else the first 300 characters. */
function errorText(text: string): string {
  try {
    const s = JSON.parse(text) as { kind?: unknown; message?: unknown };
    if (s.kind === 'Status' && typeof s.message === 'string') return s.message;
  } catch {
    // not JSON: the text itself
  }
  return text.slice(0, 300);
}

/**
 * One request to the API server with a JSON body (or none), answered with JSON. `contentType`
 * picks the patch flavour (`application/merge-patch+json`, `application/json-patch+json`).
 * A non-2xx answer rejects with KubeApiError (its status code, the Status message).
 */
export async function kubeRequestJson(kc: KubeConfig, method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<unknown> {
  const cluster = kc.getCurrentCluster();
  if (cluster === null) throw new Error('kubeconfig: no current cluster');
  const url = new URL(cluster.server.replace(/\/$/, '') + path);
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  const headers: Record<string, string | number> = { accept: 'application/json' };
  if (payload) Object.assign(headers, { 'content-type': contentType, 'content-length': payload.length });
  const opts: https.RequestOptions = { method, headers };
  await kc.applyToHTTPSOptions(opts);
  const client = url.protocol === 'http:' ? http : https;
  return new Promise((resolve, reject) => {
    const req = client.request(url, opts, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_BODY_BYTES) req.destroy(new Error(`${method} ${path}: answer larger than ${MAX_BODY_BYTES} bytes`));
        else chunks.push(c);
      });
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const status = res.statusCode ?? 0;
        if (status < 200 || status >= 300) {
          reject(new KubeApiError(status, `${method} ${path}: ${status} ${errorText(text)}`));
          return;
        }
        try {
          resolve(JSON.parse(text));
        } catch (e) {
          reject(new Error(`${method} ${path}: not JSON: ${(e as Error).message}`));
        }
      });
    });
    req.on('error', reject);
    req.end(payload);
  });
}
