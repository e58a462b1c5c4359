/**
 * Who is asking for a certificate: the bearer token of a CreateCertificate call, proved
 *   - in --kube mode by a TokenReview (audience `istio-ca`, as istiod asks), the identity taken
 *     from the username `system:serviceaccount:NS:SA`;
 *   - in the local mesh by the tokens file its launcher writes (`--workload-tokens FILE`):
 *     JSON `{ "<token>": { "namespace": "NS", "serviceAccount": "SA" }, ... }`, read on every
 *     call so pods started later are known.
 * A failure is an AuthnError with a message fit to send back to the caller.
 */
import fs from 'node:fs';
import { ISTIO_TOKEN_AUDIENCE } from '@minimesh/mesh';
import type { KubeApi } from '../kube/kube-api.js';
import type { WorkloadIdentity } from './workload-cert.js';

export class AuthnError extends Error {}

export interface CallerAuthenticator {
  authenticate(token: string): Promise<WorkloadIdentity>;
}

/** The audience of the projected token Istio's injector mounts (istio-token). */
export const CA_TOKEN_AUDIENCE = ISTIO_TOKEN_AUDIENCE;
const TOKEN_REVIEWS = '/apis/authentication.k8s.io/v1/tokenreviews';
const NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

/** `system:serviceaccount:NS:SA` -> the identity, or undefined. */
export function serviceAccountOf(username: string): WorkloadIdentity | undefined {
  const m = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(username);
  return m && NAME.test(m[1]) && NAME.test(m[2]) ? { namespace: m[1], serviceAccount: m[2] } : undefined;
}

export class TokenReviewAuthenticator implements CallerAuthenticator {
  constructor(private readonly api: KubeApi) {}

  async authenticate(token: string): Promise<WorkloadIdentity> {
    let review;
    try {
      review = await this.api.create(TOKEN_REVIEWS, { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token, audiences: [CA_TOKEN_AUDIENCE] } });
    } catch (e) {
      throw new AuthnError(`the token could not be reviewed (TokenReview: ${(e as Error).message})`);
    }
    const status = (review.status ?? {}) as { authenticated?: boolean; error?: string; user?: { username?: string }; audiences?: string[] };
    if (status.authenticated !== true) throw new AuthnError(`the token was not accepted by the API server${status.error ? `: ${status.error}` : ''}`);
    if (Array.isArray(status.audiences) && !status.audiences.includes(CA_TOKEN_AUDIENCE)) throw new AuthnError(`the token is not for audience ${CA_TOKEN_AUDIENCE} (it is for ${status.audiences.join(', ')})`);
    const username = status.user?.username ?? '';
    const id = serviceAccountOf(username);
    if (!id) throw new AuthnError(`the token belongs to ${JSON.stringify(username)}, not a service account (system:serviceaccount:NS:SA)`);
    return id;
  }
}

/** Reads and checks a tokens file; throws an Error naming the file and the entry. */
export function readTokensFile(file: string): Map<string, WorkloadIdentity> {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`workload tokens ${file}: ${(e as Error).message}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error(`workload tokens ${file}: expected an object of token -> {namespace, serviceAccount}`);
  const out = new Map<string, WorkloadIdentity>();
  for (const [token, v] of Object.entries(raw as Record<string, unknown>)) {
    const e = v as { namespace?: unknown; serviceAccount?: unknown } | null;
    if (typeof e?.namespace !== 'string' || !NAME.test(e.namespace) || typeof e.serviceAccount !== 'string' || !NAME.test(e.serviceAccount)) {
      throw new Error(`workload tokens ${file}: the entry of token ${token.slice(0, 6)}… needs namespace and serviceAccount (Kubernetes names)`);
    }
    out.set(token, { namespace: e.namespace, serviceAccount: e.serviceAccount });
  }
  return out;
}

export class TokensFileAuthenticator implements CallerAuthenticator {
  constructor(private readonly file: string) {}

  async authenticate(token: string): Promise<WorkloadIdentity> {
    let tokens;
    try {
      tokens = readTokensFile(this.file);
    } catch (e) {
      throw new AuthnError(`the control plane cannot check tokens: ${(e as Error).message}`);
    }
    const id = tokens.get(token);
    if (!id) throw new AuthnError('the token is not one the local mesh gave to a pod');
    return id;
  }
}
