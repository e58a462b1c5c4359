/**
 * The certificate service a sidecar asks for its workload certificate, with Istio's wire names
 * so its agents and ours interoperate: `istio.v1.auth.IstioCertificateService/CreateCertificate`
 * (istio/api security/v1alpha1/ca.proto). The request carries a PEM CSR (field 1), an optional
 * subject id (2), the wanted lifetime in seconds (3) and a metadata Struct (4); the response is
 * the chain, leaf first and root last. The caller's credential rides in gRPC metadata
 * (`authorization: Bearer <token>`). Messages are plain objects with the proto's field names.
 */
import type * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';

export const CA_SERVICE_NAME = 'istio.v1.auth.IstioCertificateService';
export const CA_METHOD_PATH = `/${CA_SERVICE_NAME}/CreateCertificate`;

export interface CertificateRequest {
  /** PEM PKCS#10 request. */
  readonly csr: string;
  readonly subject_id?: string;
  /** Requested lifetime in seconds (0 or absent: the server's default). */
  readonly validity_duration?: number;
  /** google.protobuf.Struct as JSON (e.g. ClusterID). */
  readonly metadata?: Record<string, unknown>;
}

export interface CertificateResponse {
  readonly cert_chain: readonly string[];
}

const structJson = protobuf.common.get('google/protobuf/struct.proto') as protobuf.INamespace;

const root = protobuf.Root.fromJSON({
  nested: {
    ...(structJson.nested as Record<string, protobuf.AnyNestedObject>),
    istio: {
      nested: {
        v1: {
          nested: {
            auth: {
              nested: {
                IstioCertificateRequest: {
                  fields: {
                    csr: { type: 'string', id: 1 },
                    subject_id: { type: 'string', id: 2 },
                    validity_duration: { type: 'int64', id: 3 },
                    metadata: { type: 'google.protobuf.Struct', id: 4 },
                  },
                },
                IstioCertificateResponse: { fields: { cert_chain: { rule: 'repeated', type: 'string', id: 1 } } },
              },
            },
          },
        },
      },
    },
  },
});

const REQUEST = root.lookupType('istio.v1.auth.IstioCertificateRequest');
const RESPONSE = root.lookupType('istio.v1.auth.IstioCertificateResponse');
const TO_OBJECT = { longs: Number, defaults: true, arrays: true };

export function encodeCertificateRequest(r: CertificateRequest): Buffer {
  const msg = REQUEST.fromObject({ csr: r.csr, subject_id: r.subject_id ?? '', validity_duration: r.validity_duration ?? 0, ...(r.metadata ? { metadata: r.metadata } : {}) });
  return Buffer.from(REQUEST.encode(msg).finish());
}

export function decodeCertificateRequest(b: Buffer): CertificateRequest {
  const o = REQUEST.toObject(REQUEST.decode(b), TO_OBJECT) as { csr: string; subject_id: string; validity_duration: number; metadata?: Record<string, unknown> };
  return { csr: o.csr, subject_id: o.subject_id, validity_duration: o.validity_duration, ...(o.metadata ? { metadata: o.metadata } : {}) };
}

export function encodeCertificateResponse(r: CertificateResponse): Buffer {
  return Buffer.from(RESPONSE.encode(RESPONSE.fromObject({ cert_chain: [...r.cert_chain] })).finish());
}

export function decodeCertificateResponse(b: Buffer): CertificateResponse {
  return RESPONSE.toObject(RESPONSE.decode(b), TO_OBJECT) as CertificateResponse;
}

/** The service definition to pass to `grpc.Server.addService` (one unary method). */
export const CA_SERVICE_DEFINITION: grpc.ServiceDefinition = {
  CreateCertificate: {
    path: CA_METHOD_PATH,
    requestStream: false,
    responseStream: false,
    requestSerialize: encodeCertificateRequest,
    requestDeserialize: decodeCertificateRequest,
    responseSerialize: encodeCertificateResponse,
    responseDeserialize: decodeCertificateResponse,
    originalName: 'createCertificate',
  } as grpc.MethodDefinition<CertificateRequest, CertificateResponse>,
};
