/**
 * A cluster's hosts split into Envoy's priority levels. Each pick first chooses a level by
 * the priority loads (priority-load.ts), then a host in it: among the level's healthy
 * hosts, by locality weights when locality-weighted balancing is on; among all its hosts
 * when the level is in panic. One level (every host at priority 0) behaves as a plain balancer.
 */
import type { LbHost, LoadBalancer } from './load-balancer.js';
import { choosePriority, levelInPanic, priorityHealth, priorityLoads } from './priority-load.js';
import { LocalityPicker } from './locality-picker.js';
import type { PriorityLoadContext } from './retry-priority.js';

export interface PriorityHost extends LbHost {
  /** The endpoint's priority (0 is the highest). */
  readonly priority: number;
  /** Its locality as `region/zone/subZone` ('' when unknown). */
  readonly localityKey: string;
  /** Its locality's `load_balancing_weight` (0 when unset). */
  readonly localityWeight: number;
}

export interface PrioritySetOptions<H extends PriorityHost> {
  /** The balancer for a list of hosts (the cluster's `lb_policy`). */
  readonly makeLb: (hosts: H[]) => LoadBalancer<H>;
  /** `healthy_panic_threshold` in percent (0: panic off). */
  readonly panicThreshold: number;
  readonly localityWeighted: boolean;
  readonly overprovisioningFactor?: number;
  /** A draw in [0, 1) for choosing a level; Math.random unless a test fixes it. */
  readonly random?: () => number;
}

export interface PriorityLevel<H extends PriorityHost> {
  readonly hosts: readonly H[];
  readonly healthy: readonly H[];
  /** 0..100, see priorityHealth. */
  readonly health: number;
  readonly panic: boolean;
  readonly lb: LoadBalancer<H>;
}

export interface PriorityPick<H> {
  readonly host: H | undefined;
  /** The chosen level was in panic (its pick ignored health). */
  readonly panic: boolean;
  readonly priority: number;
}

export class PrioritySet<H extends PriorityHost> {
  /** Indexed by priority; a priority without hosts is an empty level. */
  readonly levels: readonly PriorityLevel<H>[];
  /** Each level's share of requests in percent. */
  readonly loads: readonly number[];
  private readonly random: () => number;

  constructor(hosts: readonly H[], isHealthy: (h: H) => boolean, opts: PrioritySetOptions<H>) {
    this.random = opts.random ?? Math.random;
    const top = hosts.reduce((m, h) => Math.max(m, h.priority), 0);
    const byLevel: H[][] = Array.from({ length: top + 1 }, () => []);
    for (const h of hosts) byLevel[h.priority].push(h);
    this.levels = byLevel.map((all) => buildLevel(all, isHealthy, opts));
    this.loads = priorityLoads(this.levels.map((l) => l.health));
  }

  /**
   * A host, avoiding `avoid` when the level's balancer can; `hash` also fixes the level (as Envoy
   * uses it); `ctx`: a retry priority that may move a retry's load off the levels already tried.
   */
  pick(avoid: ReadonlySet<H> | null, hash?: number, ctx?: PriorityLoadContext): PriorityPick<H> {
    const draw = hash !== undefined ? Math.abs(hash) % 100 : Math.floor(this.random() * 100);
    const loads = ctx === undefined || this.levels.length === 1 ? this.loads : ctx.priorityLoads(this.levels.map((l) => l.health), this.loads);
    const priority = this.levels.length === 1 ? 0 : choosePriority(loads, draw);
    const level = this.levels[priority];
    return { host: level.lb.pick(avoid, hash), panic: level.panic, priority };
  }
}

function buildLevel<H extends PriorityHost>(all: H[], isHealthy: (h: H) => boolean, opts: PrioritySetOptions<H>): PriorityLevel<H> {
  const healthy = all.filter(isHealthy);
  const health = priorityHealth(healthy.length, all.length, opts.overprovisioningFactor);
  const panic = levelInPanic(healthy.length, all.length, opts.panicThreshold);
  // In panic Envoy balances over every host of the level, localities aside.
  const lb = panic ? opts.makeLb(all) : opts.localityWeighted ? new LocalityPicker(all, new Set(healthy), opts.makeLb, opts.overprovisioningFactor) : opts.makeLb(healthy);
  return { hosts: all, healthy, health, panic, lb };
}
