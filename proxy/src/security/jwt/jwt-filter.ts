/**
 * Envoy's `envoy.filters.http.jwt_authn` in the proxy, before the RBAC filters: the first rule
 * whose match holds names the requirement; the tokens found are verified (jwt-verify.ts) and
 * the requirement tree decides. On success each verified provider's payload goes to the
 * metadata `envoy.filters.http.jwt_authn` (under `payload_in_metadata`), where the RBAC
 * `metadata` rules read `request.auth.*`; the token is removed unless `forward`, and
 * `forward_payload_header` / `claim_to_headers` add headers. On failure: a local reply, 401
 * (403 for an audience not allowed) with Envoy's text and `www-authenticate`.
 *
 * A request carrying no token at all is decided at once; otherwise verification is async (keys
 * may be fetched) and the connection manager holds the request until it is done.
 */
import { JWT_AUTHN_FILTER, matchRoute, type JwtAuthnRt, type JwtProviderRt, type JwtRequirementRt, type VirtualHostRt } from '@minimesh/config';
import type { JWTPayload } from 'jose';
import type { RequestHeaders } from '../../http/codec/headers.js';
import type { LocalReply } from '../../router/local-reply.js';
import type { StatsRegistry } from '../../observability/stats.js';
import { extractTokens, removeToken, type FoundToken } from './jwt-extract.js';
import { JWT_STATUS, jwtDeniedDetails, jwtStatusCode, type JwtStatus } from './jwt-status.js';
import { keySetFor, tokenIssuer, verifyToken } from './jwt-verify.js';

/** Envoy's jwt_authn stats (`http.<stat_prefix>.jwt_authn.*`). */
export class JwtAuthnStats {
  allowed = 0;
  denied = 0;
  cors_preflight_bypassed = 0;
}

/** A compiled filter with its providers' key sets, ready to run. */
export interface JwtAuthnRun {
  readonly config: JwtAuthnRt;
  readonly stats: JwtAuthnStats;
  readonly keys: ReadonlyMap<string, ReturnType<typeof keySetFor>>;
  /** The rules as a virtual host, so Envoy's route matching picks one. */
  readonly ruleHost: VirtualHostRt;
}

export function jwtAuthnRun(config: JwtAuthnRt | undefined, registry: StatsRegistry, hcmStatPrefix: string): JwtAuthnRun | undefined {
  if (config === undefined) return undefined;
  const stats = registry.rbacScope(`http.${hcmStatPrefix}.jwt_authn.`, () => new JwtAuthnStats(), hcmStatPrefix);
  const keys = new Map([...config.providers].map(([name, p]) => [name, keySetFor(p.jwks)]));
  const ruleHost = { name: 'jwt_authn', domains: [], routes: config.rules.map((r, i) => ({ match: r.match, name: String(i) })) } as unknown as VirtualHostRt;
  return { config, stats, keys, ruleHost };
}

/** What the filter decided: a reply, or metadata plus changes to the request head. */
export interface JwtOutcome {
  readonly reply?: { readonly local: LocalReply; readonly headers: Record<string, string> };
  readonly metadata?: Record<string, unknown>;
}

interface Verified {
  readonly provider: JwtProviderRt;
  readonly found: FoundToken;
  readonly payload: JWTPayload;
}

class Evaluation {
  readonly verified: Verified[] = [];
  private readonly memo = new Map<string, Promise<JwtStatus>>();
  constructor(
    readonly run: JwtAuthnRun,
    readonly head: RequestHeaders,
  ) {}

  private check(p: JwtProviderRt, found: FoundToken): Promise<JwtStatus> {
    const key = `${p.name}\u0000${found.token}`;
    let r = this.memo.get(key);
    if (r === undefined) {
      r = verifyToken(p, this.run.keys.get(p.name)!, found.token).then((v) => {
        if (v.status === JWT_STATUS.Ok) this.verified.push({ provider: p, found, payload: v.payload });
        return v.status;
      });
      this.memo.set(key, r);
    }
    return r;
  }

  /** Every token any provider would read, each checked by the provider of its issuer. */
  private async allTokens(): Promise<JwtStatus> {
    const providers = [...this.run.config.providers.values()];
    let status: JwtStatus = JWT_STATUS.Ok;
    let any = false;
    for (const p of providers) {
      for (const found of extractTokens(this.head, p.locations)) {
        any = true;
        const iss = tokenIssuer(found.token);
        const owner = providers.find((q) => q.issuer === '' || q.issuer === iss);
        const s = owner === undefined ? JWT_STATUS.JwtUnknownIssuer : await this.check(owner, found);
        if (s !== JWT_STATUS.Ok) status = s;
      }
    }
    return any ? status : JWT_STATUS.JwtMissed;
  }

  async eval(r: JwtRequirementRt): Promise<JwtStatus> {
    switch (r.kind) {
      case 'provider': {
        const p = this.run.config.providers.get(r.provider)!;
        const tokens = extractTokens(this.head, p.locations);
        if (tokens.length === 0) return JWT_STATUS.JwtMissed;
        for (const t of tokens) {
          const s = await this.check(p, t);
          if (s !== JWT_STATUS.Ok) return s;
        }
        return JWT_STATUS.Ok;
      }
      case 'allow_missing': {
        const s = await this.allTokens();
        return s === JWT_STATUS.JwtMissed ? JWT_STATUS.Ok : s;
      }
      case 'allow_missing_or_failed':
        await this.allTokens();
        return JWT_STATUS.Ok;
      case 'all':
        for (const c of r.requirements) {
          const s = await this.eval(c);
          if (s !== JWT_STATUS.Ok) return s;
        }
        return JWT_STATUS.Ok;
      case 'any': {
        // Envoy's aggregation: the failure worth reporting is one other than a missing token,
        // and other than an unknown issuer when there is one (a provider reading another's token).
        let final: JwtStatus = JWT_STATUS.JwtMissed;
        for (const c of r.requirements) {
          const s = await this.eval(c);
          if (s === JWT_STATUS.Ok) return s;
          if (s !== JWT_STATUS.JwtMissed && (s !== JWT_STATUS.JwtUnknownIssuer || final === JWT_STATUS.JwtMissed)) final = s;
        }
        return final;
      }
    }
  }
}

const isCorsPreflight = (head: RequestHeaders): boolean =>
  head.method === 'OPTIONS' && head.names.includes('origin') && head.names.includes('access-control-request-method');

function hasAnyToken(run: JwtAuthnRun, head: RequestHeaders): boolean {
  for (const p of run.config.providers.values()) if (extractTokens(head, p.locations).length > 0) return true;
  return false;
}

/** The decision when the request carries no token: no verification needed. */
function missingOnly(r: JwtRequirementRt): JwtStatus {
  switch (r.kind) {
    case 'provider':
      return JWT_STATUS.JwtMissed;
    case 'allow_missing':
    case 'allow_missing_or_failed':
      return JWT_STATUS.Ok;
    case 'all':
      return r.requirements.map(missingOnly).find((s) => s !== JWT_STATUS.Ok) ?? JWT_STATUS.Ok;
    case 'any':
      return r.requirements.some((c) => missingOnly(c) === JWT_STATUS.Ok) ? JWT_STATUS.Ok : JWT_STATUS.JwtMissed;
  }
}

function allowed(run: JwtAuthnRun, o: JwtOutcome): JwtOutcome {
  run.stats.allowed++;
  return o;
}

function deny(run: JwtAuthnRun, status: JwtStatus, head: RequestHeaders): JwtOutcome {
  run.stats.denied++;
  const realm = `${head.scheme}://${head.authority}${head.path.split('?')[0]}`;
  const www = status === JWT_STATUS.JwtMissed ? `Bearer realm="${realm}"` : `Bearer realm="${realm}", error="invalid_token"`;
  return { reply: { local: { status: jwtStatusCode(status), body: status, flag: undefined, details: jwtDeniedDetails(status) }, headers: { 'www-authenticate': www } } };
}

const setHeader = (head: RequestHeaders, name: string, value: string): void => {
  const i = head.names.indexOf(name);
  if (i >= 0) head.values[i] = value;
  else {
    head.names.push(name);
    head.values.push(value);
  }
};

/** Metadata and header changes for the verified tokens. */
function accept(verified: readonly Verified[], head: RequestHeaders): JwtOutcome {
  const md: Record<string, unknown> = {};
  for (const v of verified) {
    const p = v.provider;
    if (p.payloadInMetadata !== undefined) {
      const payload: Record<string, unknown> = { ...v.payload };
      for (const c of p.spaceDelimitedClaims) if (typeof payload[c] === 'string') payload[c] = (payload[c] as string).split(' ').filter((s) => s !== '');
      md[p.payloadInMetadata] = payload;
    }
    if (p.forwardPayloadHeader !== undefined) setHeader(head, p.forwardPayloadHeader, v.found.token.split('.')[1]);
    for (const c of p.claimToHeaders) {
      const x = v.payload[c.claim];
      if (typeof x === 'string' || typeof x === 'number' || typeof x === 'boolean') setHeader(head, c.header, String(x));
    }
    if (!p.forward) removeToken(head, v.found);
  }
  return Object.keys(md).length > 0 ? { metadata: { [JWT_AUTHN_FILTER]: md } } : {};
}

const PASS: JwtOutcome = {};

/** Runs the filter: the outcome at once when no verification is needed, else a promise of it. */
export function authenticateRequest(run: JwtAuthnRun, head: RequestHeaders): JwtOutcome | Promise<JwtOutcome> {
  if (run.config.bypassCorsPreflight && isCorsPreflight(head)) {
    run.stats.cors_preflight_bypassed++;
    return PASS;
  }
  const view = { method: head.method, path: head.path, authority: head.authority, headerNames: head.names, headerValues: head.values, scheme: head.scheme };
  const rule = matchRoute(run.ruleHost, view);
  const requires = rule === undefined ? undefined : run.config.rules[Number(rule.name)].requires;
  if (requires === undefined) return PASS;
  if (!hasAnyToken(run, head)) {
    const s = missingOnly(requires);
    return s === JWT_STATUS.Ok ? allowed(run, PASS) : deny(run, s, head);
  }
  const ev = new Evaluation(run, head);
  return ev.eval(requires).then((s) => (s === JWT_STATUS.Ok ? allowed(run, accept(ev.verified, head)) : deny(run, s, head)));
}
