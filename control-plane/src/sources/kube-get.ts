/**
 * A plain GET of the Kubernetes API returning the JSON as the API server sent it: lists are
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
  const cluster = kc.getCurrentCluster();
  if (cluster === null) throw new Error('kubeconfig: no current cluster');
  const url = new URL(cluster.server.replace(/\/$/, '') + path);
  const opts: https.RequestOptions = { method: 'GET', headers: { accept: 'application/json' } };
  await kc.applyToHTTPSOptions(opts);
  const client = url.protocol === 'http:' ? http : https;
  return new Promise((resolve, reject) => {
    const req = client.request(url, opts, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_BODY_BYTES) req.destroy(new Error(`GET ${path}: answer larger than ${MAX_BODY_BYTES} bytes`));
        else chunks.push(c);
      });
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const status = res.statusCode ?? 0;
        if (status < 200 || status >= 300) {
          reject(new KubeApiError(status, `GET ${path}: ${status} ${text.slice(0, 300)}`));
          return;
        }
        try {
          resolve(JSON.parse(text));
        } catch (e) {
          reject(new Error(`GET ${path}: not JSON: ${(e as Error).message}`));
        }
      });
    });
    req.on('error', reject);
    req.end();
  });
}
