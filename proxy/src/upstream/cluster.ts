/**
 * A cluster at run time: its compiled config, its hosts with their pools, its balancer,
 * and the circuit-breaker counts shared by every request that uses it.
 */
import type { ClusterRt } from '@minimesh/config/runtime';
import type { ClusterStats } from '../observability/stats.js';
import type { SecretStore } from '../security/secret-store.js';
import type { LoadBalancer } from './lb/load-balancer.js';
import { RoundRobin } from './lb/round-robin.js';
import { RandomLb } from './lb/random.js';
import { LeastRequest } from './lb/least-request.js';
import { RingHash } from './lb/ring-hash.js';
import { Maglev } from './lb/maglev.js';
import { UpstreamHost } from './upstream-host.js';
import { OriginalDstHosts } from './original-dst-hosts.js';
import { OutlierDetector, OutlierStats } from './outlier-detector.js';
import { PrioritySet } from './lb/priority-set.js';
import type { PriorityLoadContext } from './lb/retry-priority.js';
import { SlowStartLb } from './lb/slow-start.js';
import type { PendingRequest } from './h1/h1-pool.js';
import type { UpstreamResponseDecoder } from './upstream-codec.js';
import type { EndpointRt } from '@minimesh/config/runtime';
import { ConfigUpdateStats } from '../observability/config-update-stats.js';
import { DnsRefresher, isDnsCluster, type DnsAnswers } from './dns/dns-refresher.js';
import type { HostResolver } from './dns/host-resolver.js';

export class Cluster {
  /** The hosts (the same array for the cluster's life: DNS clusters change it in place). */
  readonly hosts: UpstreamHost[];
  /** Hosts that left DNS answers: requests in flight finish, their connections then close. */
  private readonly drainingHosts = new Set<UpstreamHost>();
  /** STRICT_DNS / LOGICAL_DNS: the periodic resolution of the endpoint names. */
  dns: DnsRefresher | undefined;
  /** Healthy hosts (by EDS, and not ejected by outlier detection): what the balancer sees. */
  healthy: UpstreamHost[];
  /**
   * The hosts by priority level, each with its balancer (over healthy hosts, by locality when
   * configured; over all its hosts when the level is in panic, under `healthy_panic_threshold`).
   */
  prioritySet: PrioritySet<UpstreamHost>;
  /** `outlier_detection`, when the cluster has it. */
  readonly outlier: OutlierDetector | undefined;
  connections = 0;
  /** Requests waiting for a connection (max_connections reached), oldest first. */
  readonly pending: PendingRequest[] = [];
  /** Requests waiting for an HTTP/2 stream (sessions connecting or full); with `pending`, under max_pending_requests. */
  h2Pending = 0;
  activeRequests = 0;
  activeRetries = 0;
  /** Set when a new config no longer has this cluster: its connections drain and close. */
  removed = false;
  /** ORIGINAL_DST: hosts made per destination (original-dst-hosts.ts). */
  readonly originalDst: OriginalDstHosts | undefined;
  /** The resolver of the cluster manager (DNS clusters; an ORIGINAL_DST destination given by name). */
  resolver: HostResolver | undefined;

  constructor(
    readonly config: ClusterRt,
    readonly stats: ClusterStats,
    /** Where TLS transport sockets find their SDS secrets (absent: the cluster's TLS is not used). */
    readonly secrets?: SecretStore,
  ) {
    // DNS clusters have no hosts until their names resolve (startDns).
    this.hosts = isDnsCluster(config) ? [] : config.endpoints.map((e) => new UpstreamHost(this, e));
    this.healthy = this.hosts.filter((h) => h.endpoint.healthy);
    this.prioritySet = this.buildPrioritySet();
    this.originalDst = config.type === 'ORIGINAL_DST' ? new OriginalDstHosts(this) : undefined;
    const od = config.outlierDetection;
    if (od !== undefined) this.outlier = new OutlierDetector(od, this.hosts, (stats.outlier ??= new OutlierStats()), () => this.refreshHealthy());
    else stats.outlier = undefined;
    stats.breakers = () => ({ limits: this.config.circuitBreakers, connections: this.connections, pending: this.pending.length + this.h2Pending, requests: this.activeRequests, retries: this.activeRetries });
  }

  /** A host for a request (avoiding `avoid` when it can); in panic mode, any host. `ctx`: a retry's priority loads. */
  pick(avoid: ReadonlySet<UpstreamHost> | null, hash?: number, ctx?: PriorityLoadContext): UpstreamHost | undefined {
    const p = this.prioritySet.pick(avoid, hash, ctx);
    if (p.panic) this.stats.lb_healthy_panic++;
    return p.host;
  }

  /**
   * Starts resolving a DNS cluster's names with `resolver`; `inherited`: the answers of the
   * cluster this one replaces (same names), so its hosts carry over without a gap.
   */
  startDns(resolver: HostResolver, inherited?: DnsAnswers): void {
    this.resolver = resolver;
    if (!isDnsCluster(this.config)) return;
    this.dns = new DnsRefresher(this.config, resolver, (eps) => this.setEndpoints(eps), (this.stats.updates ??= new ConfigUpdateStats()), inherited);
    this.dns.start();
  }

  /** New hosts (a DNS answer): hosts at the same address stay (pools warm), gone ones drain. */
  setEndpoints(endpoints: readonly EndpointRt[]): void {
    const byKey = new Map(this.hosts.map((h) => [h.key, h]));
    const next = endpoints.map((e) => {
      const h = byKey.get(`${e.address}:${e.port}`);
      byKey.delete(`${e.address}:${e.port}`);
      return h ?? new UpstreamHost(this, e);
    });
    for (const gone of byKey.values()) this.drainingHosts.add(gone);
    this.hosts.splice(0, this.hosts.length, ...next);
    this.outlier?.syncHosts();
    this.refreshHealthy();
  }

  /** Hosts were ejected or came back: the balancer sees the new healthy set. */
  private refreshHealthy(): void {
    const od = this.outlier;
    this.healthy = this.hosts.filter((h) => h.endpoint.healthy && (od === undefined || !od.isEjected(h)));
    this.prioritySet = this.buildPrioritySet();
  }

  private buildPrioritySet(): PrioritySet<UpstreamHost> {
    const healthy = new Set(this.healthy);
    return new PrioritySet(this.hosts, (h) => healthy.has(h), {
      makeLb: (hosts) => createLoadBalancer(this.config, hosts),
      panicThreshold: this.config.healthyPanicThreshold,
      localityWeighted: this.config.localityWeighted === true,
    });
  }

  /** This cluster replaces `old` (a new config): hosts at the same address keep their outlier state. */
  inherit(old: Cluster): void {
    const since = new Map(old.hosts.map((h) => [h.key, h.addedAt]));
    for (const h of this.hosts) h.addedAt = since.get(h.key) ?? h.addedAt;
    if (this.outlier !== undefined && old.outlier !== undefined) this.outlier.inherit(old.outlier);
  }

  /** The cluster is gone or replaced: its timers stop. */
  retire(): void {
    this.removed = true;
    this.outlier?.stop();
    this.dns?.stop();
  }

  /** While there is room under max_connections, the oldest waiting request gets a new connection. */
  servePending(): void {
    const max = this.config.circuitBreakers.maxConnections;
    while (this.pending.length > 0 && this.connections < max) {
      const next = this.pending.shift()!;
      this.stats.upstream_rq_pending_active--;
      next.pool.open().attach(next.decoder, next.isHead);
    }
  }

  /** Takes `decoder` out of the queue (its request gave up while waiting). */
  cancelPending(decoder: UpstreamResponseDecoder): void {
    const i = this.pending.findIndex((p) => p.decoder === decoder);
    if (i >= 0) {
      this.pending.splice(i, 1);
      this.stats.upstream_rq_pending_active--;
    }
  }

  /** Frees a connection slot held by an idle connection (for a waiting request). */
  closeOneIdle(): void {
    for (const h of this.hosts) if (h.h1.closeOneIdle()) return;
  }

  /** Closes idle upstream connections past the cluster's idle timeout. */
  sweepIdle(now: number): void {
    const timeout = this.removed ? 0 : this.config.upstreamIdleTimeoutMs;
    for (const h of this.drainingHosts) {
      for (const p of h.pools()) p.closeIdle(now, 0);
      if (h.connections === 0) this.drainingHosts.delete(h);
    }
    this.originalDst?.sweep(now, this.removed ? 0 : timeout);
    if (timeout === 0 && !this.removed) return;
    for (const h of this.hosts) for (const p of h.pools()) p.closeIdle(now, timeout);
  }
}

/** The balancer for a cluster's `lb_policy`, with slow start when configured. */
function createLoadBalancer(config: ClusterRt, hosts: UpstreamHost[]): LoadBalancer<UpstreamHost> {
  const lb = createPolicyLb(config, hosts);
  const ss = config.slowStart;
  if (ss === undefined || (config.lbPolicy !== 'ROUND_ROBIN' && config.lbPolicy !== 'LEAST_REQUEST')) return lb;
  return new SlowStartLb(lb, hosts, ss, config.lbPolicy === 'LEAST_REQUEST');
}

/** The balancer for a cluster's `lb_policy` (the compiler rejects policies not listed). */
function createPolicyLb(config: ClusterRt, hosts: UpstreamHost[]): LoadBalancer<UpstreamHost> {
  switch (config.lbPolicy) {
    case 'LEAST_REQUEST':
      return new LeastRequest(hosts);
    case 'RANDOM':
      return new RandomLb(hosts);
    case 'RING_HASH':
      return new RingHash(hosts, config.hashLb?.kind === 'ring' ? config.hashLb : undefined);
    case 'MAGLEV':
      return new Maglev(hosts, config.hashLb?.kind === 'maglev' ? config.hashLb : undefined);
    default:
      return new RoundRobin(hosts);
  }
}
