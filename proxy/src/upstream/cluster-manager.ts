/**
 * All clusters of the current config. A new config keeps the `Cluster` objects whose
 * config did not change (their pools stay warm); clusters that disappear are marked
 * removed and drain: requests in flight finish, idle connections close.
 */
import type { ClusterRt } from '@minimesh/config/runtime';
import type { StatsRegistry } from '../observability/stats.js';
import { Cluster } from './cluster.js';
import type { SecretStore } from '../security/secret-store.js';
import { createHostResolver, type HostResolver } from './dns/host-resolver.js';

const SWEEP_INTERVAL_MS = 1000;

export class ClusterManager {
  private clusters = new Map<string, Cluster>();
  private readonly draining = new Set<Cluster>();
  private readonly sweeper: NodeJS.Timeout;
  /** How STRICT_DNS / LOGICAL_DNS clusters resolve their names (the system's resolver by default). */
  resolver: HostResolver = createHostResolver();

  constructor(
    private readonly stats: StatsRegistry,
    /** The proxy's TLS secrets, for clusters with TLS transport sockets. */
    readonly secrets?: SecretStore,
  ) {
    this.sweeper = setInterval(() => this.sweep(), SWEEP_INTERVAL_MS);
    this.sweeper.unref();
  }

  get(name: string): Cluster | undefined {
    return this.clusters.get(name);
  }

  all(): IterableIterator<Cluster> {
    return this.clusters.values();
  }

  /** Installs the clusters of a new config. */
  update(configs: ReadonlyMap<string, ClusterRt>): void {
    const next = new Map<string, Cluster>();
    for (const [name, cfg] of configs) {
      const old = this.clusters.get(name);
      if (old !== undefined && old.config === cfg) next.set(name, old);
      else {
        const c = new Cluster(cfg, this.stats.cluster(name), this.secrets);
        next.set(name, c);
        c.startDns(this.resolver, old !== undefined && sameNames(old.config, cfg) ? old.dns?.last : undefined);
        if (old !== undefined) {
          c.inherit(old);
          this.retire(old);
        }
      }
    }
    for (const [name, old] of this.clusters) if (!next.has(name)) this.retire(old);
    this.clusters = next;
  }

  /** Resolve DNS clusters' names with these name servers (`host[:port]`; none: the system's resolver). */
  setDnsResolvers(servers: readonly string[] | undefined): void {
    this.resolver = createHostResolver(servers);
  }

  /** Closes every idle connection (at shutdown). */
  closeAll(): void {
    clearInterval(this.sweeper);
    for (const c of this.clusters.values()) this.retire(c);
    this.sweep();
  }

  private retire(c: Cluster): void {
    c.retire();
    this.draining.add(c);
  }

  private sweep(): void {
    const now = Date.now();
    for (const c of this.clusters.values()) c.sweepIdle(now);
    for (const c of this.draining) {
      c.sweepIdle(now);
      if (c.connections === 0) this.draining.delete(c);
    }
  }
}

/** Two DNS clusters resolve the same names (a new cluster can start from the old one's answers). */
function sameNames(a: ClusterRt, b: ClusterRt): boolean {
  return a.type === b.type && a.dnsLookupFamily === b.dnsLookupFamily && a.endpoints.length === b.endpoints.length && a.endpoints.every((e, i) => e.address === b.endpoints[i].address);
}
