/** HTTPS requests for tests: a root to trust (or none), a server name, JSON in and out. */
import https from 'node:https';
import type { PeerCertificate, TLSSocket } from 'node:tls';

export interface TlsAnswer {
  readonly status: number;
  readonly text: string;
  readonly json: unknown;
  readonly peer: PeerCertificate;
}

export function tlsRequest(port: number, path: string, o: { ca?: string; servername?: string; method?: string; body?: unknown; contentType?: string } = {}): Promise<TlsAnswer> {
  const body = o.body === undefined ? undefined : typeof o.body === 'string' ? o.body : JSON.stringify(o.body);
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: o.method ?? 'POST',
        ca: o.ca,
        servername: o.servername ?? 'istiod.istio-system.svc',
        agent: false,
        headers: body === undefined ? {} : { 'content-type': o.contentType ?? 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        const peer = (res.socket as TLSSocket).getPeerCertificate();
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, text, json, peer });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

export function review(object: unknown, extra: Record<string, unknown> = {}): unknown {
  return { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'uid-1', operation: 'CREATE', namespace: 'default', object, ...extra } };
}
