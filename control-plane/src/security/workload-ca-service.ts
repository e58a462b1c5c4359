/**
 * `IstioCertificateService/CreateCertificate` served next to ADS (same gRPC server: 15012 over
 * TLS in --kube mode, the xDS address in the local mesh). The caller proves who it is with
 * `authorization: Bearer <token>`; the certificate is for that identity alone. Until the CA is
 * loaded, calls get UNAVAILABLE; a missing or rejected token UNAUTHENTICATED; a bad CSR or
 * lifetime INVALID_ARGUMENT.
 */
import * as grpc from '@grpc/grpc-js';
import { CA_SERVICE_DEFINITION, type CertificateRequest, type CertificateResponse } from '@minimesh/xds';
import type { CertificateAuthority } from './certificate-authority.js';
import { AuthnError, type CallerAuthenticator } from './caller-authn.js';
import { chooseTtlMs, CsrError, signWorkloadCsr, spiffeId, type WorkloadTtls } from './workload-cert.js';

export interface WorkloadCaOptions {
  readonly trustDomain: () => string;
  readonly ttls: WorkloadTtls;
  readonly log: (line: string) => void;
}

type Call = grpc.ServerUnaryCall<CertificateRequest, CertificateResponse>;
type Callback = grpc.sendUnaryData<CertificateResponse>;

/** The bearer token of a call's metadata, or an error message. */
export function bearerToken(md: grpc.Metadata): string | { error: string } {
  const values = md.get('authorization');
  if (values.length === 0) return { error: 'no credential: send the pod\'s token as "authorization: Bearer <token>" metadata' };
  const m = /^Bearer\s+(\S+)\s*$/i.exec(String(values[0]));
  if (!m) return { error: 'the authorization metadata is not "Bearer <token>"' };
  return m[1];
}

export class WorkloadCaService {
  private ca: CertificateAuthority | undefined;
  private authn: CallerAuthenticator | undefined;
  /** Certificates issued (for tests and logs). */
  issued = 0;

  constructor(private readonly o: WorkloadCaOptions) {}

  /** Starts issuing with this CA and this way of proving callers. */
  enable(ca: CertificateAuthority, authn: CallerAuthenticator): void {
    this.ca = ca;
    this.authn = authn;
  }

  get enabled(): boolean {
    return this.ca !== undefined;
  }

  /** Adds the service to a grpc.Server (before or after it is bound). */
  addTo(server: grpc.Server): void {
    server.addService(CA_SERVICE_DEFINITION, { CreateCertificate: (call: Call, cb: Callback) => void this.create(call, cb) });
  }

  private async create(call: Call, cb: Callback): Promise<void> {
    const fail = (code: grpc.status, details: string): void => cb({ code, details, name: 'Error', message: details });
    const ca = this.ca;
    const authn = this.authn;
    if (!ca || !authn) return fail(grpc.status.UNAVAILABLE, 'the certificate authority is not ready yet (or not enabled: the local mesh needs --workload-tokens)');
    const token = bearerToken(call.metadata);
    if (typeof token !== 'string') return fail(grpc.status.UNAUTHENTICATED, `CreateCertificate: ${token.error}`);
    let identity;
    try {
      identity = await authn.authenticate(token);
    } catch (e) {
      const msg = e instanceof AuthnError ? e.message : `authentication failed: ${(e as Error).message}`;
      this.o.log(`CreateCertificate from ${call.getPeer()} refused: ${msg}`);
      return fail(grpc.status.UNAUTHENTICATED, `CreateCertificate: ${msg}`);
    }
    try {
      const req = call.request;
      const ttlMs = chooseTtlMs(req.validity_duration, this.o.ttls);
      const chain = await signWorkloadCsr(ca, { csrPem: req.csr, identity, trustDomain: this.o.trustDomain(), ttlMs });
      this.issued++;
      cb(null, { cert_chain: chain });
    } catch (e) {
      if (e instanceof CsrError) return fail(grpc.status.INVALID_ARGUMENT, `CreateCertificate for ${spiffeId(this.o.trustDomain(), identity)}: ${e.message}`);
      this.o.log(`CreateCertificate: signing failed: ${(e as Error).stack ?? String(e)}`);
      return fail(grpc.status.INTERNAL, `CreateCertificate: signing failed: ${(e as Error).message}`);
    }
  }
}
