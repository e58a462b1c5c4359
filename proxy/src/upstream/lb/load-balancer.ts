/**
 * The seam for load balancing: a cluster asks its balancer for a host. Implementations
 * (one per file, as Envoy's load_balancing_policies) see only the healthy hosts.
 */
export interface LbHost {
  readonly key: string;
  readonly weight: number;
  /** Requests in flight to this host (for least-request balancers). */
  readonly activeRequests: number;
}

export interface LoadBalancer<H extends LbHost> {
  /**
   * Picks a host, avoiding those in `avoid` when another is available (retries prefer a
   * host that has not failed this request). Undefined when there is no host at all.
   * `hash`: the request's consistent-hash key (hash balancers; the others ignore it).
   */
  pick(avoid: ReadonlySet<H> | null, hash?: number): H | undefined;
}
