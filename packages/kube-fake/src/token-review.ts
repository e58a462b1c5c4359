/**
 * TokenReview (authentication.k8s.io/v1) as the API server answers it: the fake hands out
 * service-account tokens bound to audiences (as a projected token is) and reviews them. A
 * review that names audiences authenticates only a token for one of them, and the answer lists
 * the audiences both share; an unknown token is `authenticated: false` with an error.
 */
import { randomBytes } from 'node:crypto';

export const TOKEN_REVIEW_PATH = '/apis/authentication.k8s.io/v1/tokenreviews';

interface IssuedToken {
  readonly namespace: string;
  readonly serviceAccount: string;
  readonly audiences: readonly string[];
}

export class TokenIssuer {
  private readonly tokens = new Map<string, IssuedToken>();

  /** A new token for `system:serviceaccount:NS:SA`, valid for `audiences`. */
  issue(namespace: string, serviceAccount: string, audiences: readonly string[] = ['istio-ca']): string {
    const token = `fake.${randomBytes(24).toString('base64url')}`;
    this.tokens.set(token, { namespace, serviceAccount, audiences: [...audiences] });
    return token;
  }

  revoke(token: string): void {
    this.tokens.delete(token);
  }

  /** The TokenReview the API server returns for a posted one (400 text when it is malformed). */
  review(body: unknown): { code: number; object: Record<string, unknown> } {
    const spec = (body as { spec?: { token?: unknown; audiences?: unknown } } | null)?.spec;
    if (typeof spec?.token !== 'string' || spec.token === '') {
      return { code: 400, object: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', reason: 'BadRequest', code: 400, message: 'TokenReview: spec.token: Required value' } };
    }
    const wanted = Array.isArray(spec.audiences) ? (spec.audiences as string[]) : [];
    const t = this.tokens.get(spec.token);
    const out = (status: Record<string, unknown>) => ({ code: 201, object: { kind: 'TokenReview', apiVersion: 'authentication.k8s.io/v1', metadata: { creationTimestamp: null }, spec: { token: spec.token, audiences: wanted }, status } });
    if (!t) return out({ authenticated: false, user: {}, error: '[invalid bearer token, token lookup failed]' });
    const shared = wanted.length === 0 ? t.audiences : wanted.filter((a) => t.audiences.includes(a));
    if (shared.length === 0) return out({ authenticated: false, user: {}, error: `[invalid bearer token, token audiences ${JSON.stringify(t.audiences)} is invalid for the target audiences ${JSON.stringify(wanted)}]` });
    return out({
      authenticated: true,
      user: { username: `system:serviceaccount:${t.namespace}:${t.serviceAccount}`, uid: randomBytes(8).toString('hex'), groups: ['system:serviceaccounts', `system:serviceaccounts:${t.namespace}`, 'system:authenticated'] },
      audiences: shared,
    });
  }
}
