/** Calls CreateCertificate over real gRPC with a fresh EC key's CSR (optionally asking for SANs). */
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import * as x509 from '@peculiar/x509';
import { CA_METHOD_PATH, decodeCertificateResponse, encodeCertificateRequest, type CertificateRequest, type CertificateResponse } from '@minimesh/xds';

export interface CaCallResult {
  readonly chain?: readonly string[];
  readonly code?: grpc.status;
  readonly details?: string;
}

export async function makeCsr(uris: readonly string[] = []): Promise<string> {
  const keys = (await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const extensions = uris.length > 0 ? [new x509.SubjectAlternativeNameExtension(uris.map((value) => ({ type: 'url' as const, value })))] : [];
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({ name: uris.length > 0 ? 'CN=asked' : undefined, keys, signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' }, extensions });
  return csr.toString('pem');
}

export async function createCertificate(
  address: string,
  o: { token?: string; authorization?: string; csr?: string; ttlSeconds?: number; tls?: { rootPem: string; serverName: string } },
): Promise<CaCallResult> {
  const creds = o.tls ? grpc.credentials.createSsl(Buffer.from(o.tls.rootPem)) : grpc.credentials.createInsecure();
  const client = new grpc.Client(address, creds, o.tls ? { 'grpc.ssl_target_name_override': o.tls.serverName } : {});
  const md = new grpc.Metadata();
  if (o.authorization !== undefined) md.set('authorization', o.authorization);
  else if (o.token !== undefined) md.set('authorization', `Bearer ${o.token}`);
  const req: CertificateRequest = { csr: o.csr ?? (await makeCsr()), validity_duration: o.ttlSeconds ?? 0 };
  try {
    return await new Promise<CaCallResult>((resolve) => {
      client.makeUnaryRequest<CertificateRequest, CertificateResponse>(CA_METHOD_PATH, encodeCertificateRequest, decodeCertificateResponse, req, md, { deadline: Date.now() + 10_000 }, (err, res) =>
        resolve(err ? { code: err.code, details: err.details } : { chain: res!.cert_chain }),
      );
    });
  } finally {
    client.close();
  }
}
