/** Consistent hashing: a route's `hash_policy` and a cluster's RING_HASH / MAGLEV settings, compiled. */

/** One RouteAction.HashPolicy; `terminal`: when it yields a hash, the policies after it are skipped. */
export type HashPolicyRt =
  | { readonly kind: 'header'; readonly name: string; readonly terminal: boolean }
  /** `ttlMs` set: a request without the cookie gets one made for it (Set-Cookie on the response). */
  | { readonly kind: 'cookie'; readonly name: string; readonly ttlMs: number | undefined; readonly path: string; readonly terminal: boolean }
  | { readonly kind: 'source_ip'; readonly terminal: boolean }
  | { readonly kind: 'query'; readonly name: string; readonly terminal: boolean };

/** `ring_hash_lb_config` (Envoy's 1,024 .. 8,388,608 entries) or `maglev_lb_config` (65,537). */
export type HashLbRt = { readonly kind: 'ring'; readonly minRingSize: number; readonly maxRingSize: number } | { readonly kind: 'maglev'; readonly tableSize: number };
