/**
 * Periodic resolution of a STRICT_DNS / LOGICAL_DNS cluster's endpoint names (Envoy's
 * `dns_refresh_rate`, 5 s by default). STRICT_DNS: every address of every name becomes a
 * host; LOGICAL_DNS: the first address of the one name. A failed lookup keeps the name's
 * last good answer; the cluster hears only about changes.
 */
import type { ClusterRt, EndpointRt } from '@minimesh/config/runtime';
import type { HostResolver } from './host-resolver.js';
import { log } from '../../log.js';
import { ConfigUpdateStats } from '../../observability/config-update-stats.js';

/** What the names resolved to last, one entry per configured endpoint (undefined: not yet). */
export type DnsAnswers = readonly (readonly string[] | undefined)[];

export function isDnsCluster(config: ClusterRt): boolean {
  return config.type === 'STRICT_DNS' || config.type === 'LOGICAL_DNS';
}

/** The hosts the answers give (each resolved address with its configured endpoint's port, weight, metadata). */
export function endpointsFromAnswers(config: ClusterRt, answers: DnsAnswers): EndpointRt[] {
  const out: EndpointRt[] = [];
  const seen = new Set<string>();
  config.endpoints.forEach((e, i) => {
    const addrs = answers[i] ?? [];
    for (const address of config.type === 'LOGICAL_DNS' ? addrs.slice(0, 1) : addrs) {
      const key = `${address}:${e.port}`;
      if (seen.has(key)) continue;
      seen.add(key);
      out.push({ ...e, address, hostname: e.hostname || e.address });
    }
  });
  return out;
}

export class DnsRefresher {
  private answers: (readonly string[] | undefined)[];
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private lastKeys = '';

  constructor(
    private readonly config: ClusterRt,
    private readonly resolver: HostResolver,
    /** The resolved hosts changed. */
    private readonly onChange: (endpoints: EndpointRt[]) => void,
    /** Envoy's `update_*` counters: one attempt per name per round. */
    readonly counters: ConfigUpdateStats = new ConfigUpdateStats(),
    /** Answers a previous cluster of the same names had (a config update keeps its hosts). */
    inherited?: DnsAnswers,
  ) {
    this.answers = config.endpoints.map((_, i) => inherited?.[i]);
    if (inherited !== undefined) this.emit();
  }

  /** The last answers (for a cluster that replaces this one). */
  get last(): DnsAnswers {
    return this.answers;
  }

  /** Resolves now, then every `dns_refresh_rate`. */
  start(): void {
    void this.refresh();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
  }

  /** One round: every name once; resolves when done (tests wait on it). */
  async refresh(): Promise<void> {
    if (this.stopped) return;
    const c = this.counters;
    await Promise.all(
      this.config.endpoints.map(async (e, i) => {
        c.update_attempt++;
        try {
          const answer = await this.resolver.resolve(e.address, this.config.dnsLookupFamily ?? 'AUTO');
          if (this.stopped) return;
          c.update_success++;
          if (this.config.type === 'LOGICAL_DNS' ? this.answers[i]?.[0] === answer[0] : sameAddresses(this.answers[i], answer)) c.update_no_rebuild++;
          this.answers[i] = answer;
        } catch (err) {
          if (this.stopped) return;
          c.update_failure++;
          log.debug(`cluster ${this.config.name}: DNS resolution of ${e.address} failed (keeping the last answer): ${(err as Error).message}`);
        }
      }),
    );
    if (this.stopped) return;
    this.emit();
    this.timer = setTimeout(() => void this.refresh(), this.config.dnsRefreshRateMs);
    this.timer.unref();
  }

  private emit(): void {
    const eps = endpointsFromAnswers(this.config, this.answers);
    // The order of an answer may change between lookups; only LOGICAL_DNS cares (its first address).
    const all = eps.map((e) => `${e.address}:${e.port}`);
    const keys = (this.config.type === 'LOGICAL_DNS' ? all : all.sort()).join(',');
    if (keys === this.lastKeys) return;
    this.lastKeys = keys;
    this.onChange(eps);
  }
}

/** The same addresses, order aside (a rebuild follows only a change). */
function sameAddresses(a: readonly string[] | undefined, b: readonly string[]): boolean {
  if (a === undefined || a.length !== b.length) return false;
  const set = new Set(a);
  return b.every((x) => set.has(x));
}
