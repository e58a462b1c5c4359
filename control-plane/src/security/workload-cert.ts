/**
 * Workload certificates, as istiod issues them from a sidecar's CSR: the CSR gives only the
 * public key; the one identity is the URI SAN `spiffe://<trust domain>/ns/<ns>/sa/<sa>` of the
 * authenticated caller (the SANs the CSR asks for are ignored), in a critical SAN extension as
 * the subject is empty; key usage digitalSignature|keyEncipherment, server and client auth;
 * valid from two minutes ago for the requested lifetime (24 h by default, refused above the max).
 */
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { parseDurationMs } from '@minimesh/kube';
import type { CertificateAuthority } from './certificate-authority.js';

const HOUR_MS = 60 * 60 * 1000;
/** Istio's DEFAULT_WORKLOAD_CERT_TTL and MAX_WORKLOAD_CERT_TTL defaults. */
export const DEFAULT_WORKLOAD_TTL_MS = 24 * HOUR_MS;
export const MAX_WORKLOAD_TTL_MS = 90 * 24 * HOUR_MS;
/** Clocks of the peers may lag ours a little. */
const BACKDATE_MS = 2 * 60 * 1000;

/** Who a credential proved the caller to be. */
export interface WorkloadIdentity {
  readonly namespace: string;
  readonly serviceAccount: string;
}

/** A CSR that cannot be used, or a lifetime that cannot be given: INVALID_ARGUMENT. */
export class CsrError extends Error {}

export interface WorkloadTtls {
  readonly defaultMs: number;
  readonly maxMs: number;
}

/** `spiffe://<td>/ns/<ns>/sa/<sa>`. */
export function spiffeId(trustDomain: string, id: WorkloadIdentity): string {
  return `spiffe://${trustDomain}/ns/${id.namespace}/sa/${id.serviceAccount}`;
}

/**
 * The TTLs from Istio's environment variables (Go durations such as `24h`, `2160h`); throws
 * naming the variable when one is malformed or the default exceeds the max.
 */
export function workloadTtlsFromEnv(env: NodeJS.ProcessEnv = process.env): WorkloadTtls {
  const read = (name: string, dflt: number): number => {
    const v = env[name];
    if (v === undefined || v === '') return dflt;
    const ms = parseDurationMs(v);
    if (ms === undefined || ms <= 0) throw new Error(`${name}: expected a duration such as 24h or 90m, got ${JSON.stringify(v)}`);
    return ms;
  };
  const defaultMs = read('DEFAULT_WORKLOAD_CERT_TTL', DEFAULT_WORKLOAD_TTL_MS);
  const maxMs = read('MAX_WORKLOAD_CERT_TTL', MAX_WORKLOAD_TTL_MS);
  if (defaultMs > maxMs) throw new Error(`DEFAULT_WORKLOAD_CERT_TTL (${defaultMs / 1000}s) is above MAX_WORKLOAD_CERT_TTL (${maxMs / 1000}s)`);
  return { defaultMs, maxMs };
}

/** The lifetime to give: the default for 0, the request below the max, CsrError above it. */
export function chooseTtlMs(requestedSeconds: number | undefined, ttls: WorkloadTtls): number {
  const s = requestedSeconds ?? 0;
  if (!Number.isFinite(s) || s < 0) throw new CsrError(`validity_duration: must be a positive number of seconds, got ${s}`);
  if (s === 0) return ttls.defaultMs;
  if (s * 1000 > ttls.maxMs) throw new CsrError(`validity_duration: ${s}s is above the maximum workload certificate lifetime of ${ttls.maxMs / 1000}s (MAX_WORKLOAD_CERT_TTL)`);
  return s * 1000;
}

/** Parses a PEM PKCS#10 request and checks its self-signature; CsrError otherwise. */
export async function parseCsr(pem: string): Promise<x509.Pkcs10CertificateRequest> {
  if (typeof pem !== 'string' || !pem.includes('-----BEGIN CERTIFICATE REQUEST-----')) throw new CsrError('csr: expected a PEM certificate request (-----BEGIN CERTIFICATE REQUEST-----)');
  let csr: x509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(pem);
  } catch (e) {
    throw new CsrError(`csr: not a valid PKCS#10 request (${(e as Error).message})`);
  }
  let ok = false;
  try {
    ok = await csr.verify();
  } catch (e) {
    throw new CsrError(`csr: its signature cannot be checked (${(e as Error).message})`);
  }
  if (!ok) throw new CsrError('csr: its signature does not match its public key');
  return csr;
}

/** Signs the CSR's key for `identity`; returns the chain, leaf first and root last. */
export async function signWorkloadCsr(
  ca: CertificateAuthority,
  o: { csrPem: string; identity: WorkloadIdentity; trustDomain: string; ttlMs: number; now?: Date },
): Promise<string[]> {
  const csr = await parseCsr(o.csrPem);
  let publicKey: webcrypto.CryptoKey;
  try {
    publicKey = (await csr.publicKey.export()) as webcrypto.CryptoKey;
  } catch (e) {
    throw new CsrError(`csr: unsupported public key ${csr.publicKey.algorithm.name} (${(e as Error).message}); use RSA or EC P-256`);
  }
  const now = o.now ?? new Date();
  const leaf = await ca.signLeaf({
    subject: '',
    publicKey,
    notBefore: new Date(now.getTime() - BACKDATE_MS),
    notAfter: new Date(now.getTime() + o.ttlMs),
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
      new x509.SubjectAlternativeNameExtension([{ type: 'url', value: spiffeId(o.trustDomain, o.identity) }], true),
    ],
  });
  return [leaf.trim() + '\n', ...ca.chainPem.split(/(?<=-----END CERTIFICATE-----)\s*/).filter((c) => c.trim() !== '').map((c) => c.trim() + '\n')];
}
