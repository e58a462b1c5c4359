/**
 * OpenID discovery of a JWT issuer's key set location, for RequestAuthentication rules that give
 * only an `issuer`: the control plane reads `<issuer>/.well-known/openid-configuration` and uses
 * its `jwks_uri`, as Istio's control plane does (5 s timeout; a found URI is kept 24 hours).
 *
 * Translation is synchronous, so `lookup` never waits: it answers from the cache and, for an
 * issuer it has not resolved yet (or whose entry expired, or whose last failure is older than
 * the retry delay), starts a request in the background; when that settles `onSettled` runs (the
 * control plane pushes again). A failure is asked again after the retry delay, as long as the
 * issuer is still looked up (still in some rule). Until an issuer resolves its rule fails closed:
 * every token it would verify is rejected, as Istio does when discovery fails.
 */

/** What the control plane knows of an issuer's `jwks_uri`. */
export type JwksUriLookup =
  | { readonly state: 'resolved'; readonly uri: string }
  | { readonly state: 'pending' }
  | { readonly state: 'failed'; readonly error: string };

export interface OpenIdDiscoveryOptions {
  /** Runs after a request settles (resolved or failed) so translation can run again. */
  readonly onSettled?: (issuer: string, result: JwksUriLookup) => void;
  /** Per request (default 5000 ms, as Istio). */
  readonly timeoutMs?: number;
  /** How long a found `jwks_uri` is kept (default 24 h, as Istio). */
  readonly ttlMs?: number;
  /** How long after a failure the next lookup tries again (default 60 s). */
  readonly retryMs?: number;
  readonly now?: () => number;
}

export const OPENID_CONFIGURATION_SUFFIX = '/.well-known/openid-configuration';

interface Entry {
  result: JwksUriLookup;
  /** When the entry stops answering (resolved: TTL; failed: retry time). */
  until: number;
}

/** `https://issuer.example/` -> `https://issuer.example/.well-known/openid-configuration`; throws on a non-http(s) issuer. */
export function discoveryUrl(issuer: string): string {
  let u: URL;
  try {
    u = new URL(issuer);
  } catch {
    throw new Error(`issuer ${JSON.stringify(issuer)} is not a URL`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error(`issuer ${JSON.stringify(issuer)} is not an http or https URL`);
  return issuer.replace(/\/+$/, '') + OPENID_CONFIGURATION_SUFFIX;
}

/** Fetches the discovery document and returns its `jwks_uri` (an http(s) URL), or throws saying why. */
export async function fetchJwksUri(issuer: string, timeoutMs: number, signal?: AbortSignal): Promise<string> {
  const url = discoveryUrl(issuer);
  const signals = [AbortSignal.timeout(timeoutMs), ...(signal ? [signal] : [])];
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.any(signals), headers: { accept: 'application/json' }, redirect: 'follow' });
  } catch (e) {
    const err = e as Error & { cause?: { code?: string; message?: string } };
    const why = err.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : (err.cause?.code ?? err.cause?.message ?? err.message);
    throw new Error(`GET ${url}: ${why}`);
  }
  if (res.status < 200 || res.status >= 300) {
    await res.body?.cancel();
    throw new Error(`GET ${url}: HTTP ${res.status}`);
  }
  let doc: unknown;
  try {
    doc = await res.json();
  } catch {
    throw new Error(`GET ${url}: the answer is not JSON`);
  }
  const uri = (doc as { jwks_uri?: unknown } | null)?.jwks_uri;
  if (typeof uri !== 'string' || !/^https?:\/\/./i.test(uri)) throw new Error(`GET ${url}: no http(s) jwks_uri in the OpenID configuration (got ${JSON.stringify(uri)})`);
  return uri;
}

export class OpenIdDiscovery {
  private readonly entries = new Map<string, Entry>();
  private readonly inflight = new Set<string>();
  /** Lookups per issuer: a retry happens only for an issuer looked up since it failed. */
  private readonly lookups = new Map<string, number>();
  private readonly retries = new Set<NodeJS.Timeout>();
  private readonly abort = new AbortController();
  private readonly timeoutMs: number;
  private readonly ttlMs: number;
  private readonly retryMs: number;
  private readonly now: () => number;

  constructor(private readonly opts: OpenIdDiscoveryOptions = {}) {
    this.timeoutMs = opts.timeoutMs ?? 5000;
    this.ttlMs = opts.ttlMs ?? 24 * 3600_000;
    this.retryMs = opts.retryMs ?? 60_000;
    this.now = opts.now ?? Date.now;
  }

  /** The cached answer for `issuer`; starts a request when there is none (or it is stale). */
  lookup(issuer: string): JwksUriLookup {
    this.lookups.set(issuer, (this.lookups.get(issuer) ?? 0) + 1);
    const e = this.entries.get(issuer);
    if (e !== undefined && this.now() < e.until) return e.result;
    this.start(issuer);
    // A stale resolved URI keeps serving while it is refreshed.
    return e?.result.state === 'resolved' ? e.result : (e?.result ?? { state: 'pending' });
  }

  /** Resolves now (for callers that can wait; `lookup` answers from the same cache). */
  async resolve(issuer: string): Promise<JwksUriLookup> {
    const cached = this.entries.get(issuer);
    if (cached !== undefined && this.now() < cached.until) return cached.result;
    return this.run(issuer);
  }

  /** Cancels requests in flight; nothing settles afterwards. */
  stop(): void {
    this.abort.abort();
    for (const r of this.retries) clearTimeout(r);
    this.retries.clear();
  }

  /** After the retry delay, asks again if the issuer was looked up meanwhile (a rule still names it). */
  private scheduleRetry(issuer: string): void {
    if (this.abort.signal.aborted) return;
    const seen = this.lookups.get(issuer) ?? 0;
    const timer = setTimeout(() => {
      this.retries.delete(timer);
      if ((this.lookups.get(issuer) ?? 0) > seen) this.start(issuer);
    }, this.retryMs);
    timer.unref();
    this.retries.add(timer);
  }

  private start(issuer: string): void {
    if (this.inflight.has(issuer) || this.abort.signal.aborted) return;
    void this.run(issuer).then((result) => {
      if (!this.abort.signal.aborted) this.opts.onSettled?.(issuer, result);
    });
  }

  private async run(issuer: string): Promise<JwksUriLookup> {
    this.inflight.add(issuer);
    let result: JwksUriLookup;
    try {
      result = { state: 'resolved', uri: await fetchJwksUri(issuer, this.timeoutMs, this.abort.signal) };
      this.entries.set(issuer, { result, until: this.now() + this.ttlMs });
    } catch (e) {
      result = { state: 'failed', error: (e as Error).message };
      const previous = this.entries.get(issuer)?.result;
      // A refresh that fails keeps the URI found before (the key set itself is fetched by the proxy).
      if (previous?.state === 'resolved') this.entries.set(issuer, { result: previous, until: this.now() + this.retryMs });
      else this.entries.set(issuer, { result, until: this.now() + this.retryMs });
      this.scheduleRetry(issuer);
    } finally {
      this.inflight.delete(issuer);
    }
    return result;
  }
}
