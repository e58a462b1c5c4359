/**
 * Envoy's `envoy.filters.http.jwt_authn` at run time: its providers (where a token is found,
 * who issued it, where its keys come from, what is done with a verified one) and the
 * requirement tree each request is held to. Compiled by compile-jwt-authn.ts; the proxy
 * verifies (proxy/src/security/jwt-filter.ts).
 */
import type { RouteMatchRt } from './match-runtime.js';

/** A place a token is read from: a header (after `valuePrefix`), a query parameter, a cookie. */
export type JwtLocationRt = { readonly kind: 'header'; readonly name: string; readonly valuePrefix: string } | { readonly kind: 'param'; readonly name: string } | { readonly kind: 'cookie'; readonly name: string };

export type JwksSourceRt =
  /** `local_jwks`: the key set as JSON text. */
  | { readonly kind: 'local'; readonly json: string }
  /** `remote_jwks`: fetched from `uri` (timeout, then cached for `cacheMs`). */
  | { readonly kind: 'remote'; readonly uri: string; readonly timeoutMs: number; readonly cacheMs: number };

export interface JwtProviderRt {
  readonly name: string;
  /** The `iss` a token must carry ('' = any). */
  readonly issuer: string;
  /** A token's `aud` must hold one of these (empty = not checked). */
  readonly audiences: readonly string[];
  readonly jwks: JwksSourceRt;
  /** Where the token is looked for (Envoy's defaults when none is configured: `Authorization: Bearer`, `?access_token=`). */
  readonly locations: readonly JwtLocationRt[];
  /** `forward`: keep the token in the request (else it is removed once verified). */
  readonly forward: boolean;
  /** `forward_payload_header`: the payload (base64url) goes upstream in this header. */
  readonly forwardPayloadHeader?: string;
  /** `payload_in_metadata`: the verified payload goes to metadata `envoy.filters.http.jwt_authn` under this key. */
  readonly payloadInMetadata?: string;
  /** `normalize_payload_in_metadata.space_delimited_claims`: string claims split at spaces into lists. */
  readonly spaceDelimitedClaims: readonly string[];
  /** `claim_to_headers` */
  readonly claimToHeaders: readonly { readonly header: string; readonly claim: string }[];
  /** `clock_skew_seconds` (60 by default) for `exp` and `nbf`. */
  readonly clockSkewSeconds: number;
}

export type JwtRequirementRt =
  | { readonly kind: 'provider'; readonly provider: string }
  | { readonly kind: 'any'; readonly requirements: readonly JwtRequirementRt[] }
  | { readonly kind: 'all'; readonly requirements: readonly JwtRequirementRt[] }
  | { readonly kind: 'allow_missing' }
  | { readonly kind: 'allow_missing_or_failed' };

export interface JwtRuleRt {
  readonly match: RouteMatchRt;
  /** undefined: the matching requests need no token. */
  readonly requires: JwtRequirementRt | undefined;
}

export interface JwtAuthnRt {
  readonly providers: ReadonlyMap<string, JwtProviderRt>;
  /** The first rule whose match holds applies; none: the request is not checked. */
  readonly rules: readonly JwtRuleRt[];
  /** `bypass_cors_preflight`: CORS preflight requests (OPTIONS with Origin and Access-Control-Request-Method) pass. */
  readonly bypassCorsPreflight: boolean;
}

/** The name of the filter, also its metadata namespace. */
export const JWT_AUTHN_FILTER = 'envoy.filters.http.jwt_authn';
