/**
 * Istio's locality load balancing on EDS groups (its ApplyLocalityLoadBalancer), pure:
 *   distribute        -> each locality's load_balancing_weight, for proxies in a `from` locality
 *                        (localities no `to` names get no endpoints);
 *   failover (default)-> priorities by how much of region/zone/subzone the endpoints share with
 *                        the proxy (0 all, 1 region+zone, 2 region, 3 none; 4 for a region a
 *                        `failover` entry does not name as the proxy region's target);
 *   failoverPriority  -> priorities by how many of the listed labels match the proxy's, then the
 *                        locality failover above within them when `failover` is also set.
 * Failover applies only when the cluster has outlier detection (without it Envoy would never see
 * a priority go unhealthy). Priorities are renumbered 0..N without gaps.
 */
import type { LocalityLbSetting } from '@minimesh/kube';
import { REGION_LABEL, SUBZONE_LABEL, ZONE_LABEL, type LocalityModel } from '../model/locality.js';

export interface LocalityGroup<E> {
  readonly locality: LocalityModel | undefined;
  readonly endpoints: readonly E[];
  /** The locality's load_balancing_weight (the sum of its endpoints' weights unless distributed). */
  readonly weight: number;
  readonly priority: number;
}

export interface LocalityLbContext {
  readonly proxyLocality: LocalityModel | undefined;
  readonly proxyLabels: Readonly<Record<string, string>>;
  readonly setting: LocalityLbSetting;
  /** The cluster has outlier detection. */
  readonly enableFailover: boolean;
}

/** Istio's LocalityMatch: `region[/zone[/subzone]]` with `*` segments; missing segments match all. */
export function localityMatches(l: LocalityModel | undefined, pattern: string): boolean {
  const [region = '', zone = '', subZone = ''] = pattern.split('/');
  const seg = (rule: string, value: string, optional: boolean): boolean => rule === '*' || (optional && rule === '') || rule === value;
  return seg(region, l?.region ?? '', false) && seg(zone, l?.zone ?? '', true) && seg(subZone, l?.subZone ?? '', true);
}

/** Istio's LbPriority: 0 same subzone, 1 same zone, 2 same region, 3 elsewhere. */
export function localityPriority(proxy: LocalityModel | undefined, ep: LocalityModel | undefined): number {
  const p = proxy ?? { region: '', zone: '', subZone: '' };
  const e = ep ?? { region: '', zone: '', subZone: '' };
  if (p.region !== e.region) return 3;
  if (p.zone !== e.zone) return 2;
  return p.subZone === e.subZone ? 0 : 1;
}

/** Labels with the locality's topology labels added (as Istio augments endpoint and proxy labels). */
export function withTopologyLabels(labels: Readonly<Record<string, string>>, l: LocalityModel | undefined): Record<string, string> {
  if (l === undefined) return { ...labels };
  return { ...labels, [REGION_LABEL]: l.region, [ZONE_LABEL]: l.zone, [SUBZONE_LABEL]: l.subZone };
}

export function applyLocalityLb<E>(groups: readonly LocalityGroup<E>[], ctx: LocalityLbContext, labelsOf: (e: E) => Readonly<Record<string, string>>): LocalityGroup<E>[] {
  const s = ctx.setting;
  if (s.distribute !== undefined && s.distribute.length > 0) return distribute(groups, ctx.proxyLocality, s.distribute);
  if (!ctx.enableFailover) return [...groups];
  let out = [...groups];
  if (s.failoverPriority !== undefined && s.failoverPriority.length > 0) {
    out = byFailoverPriority(out, ctx, s.failoverPriority, labelsOf);
    if (s.failover === undefined || s.failover.length === 0) return out;
  }
  return byLocality(out, ctx.proxyLocality, s.failover ?? []);
}

function distribute<E>(groups: readonly LocalityGroup<E>[], proxy: LocalityModel | undefined, rules: NonNullable<LocalityLbSetting['distribute']>): LocalityGroup<E>[] {
  const rule = rules.find((r) => r.from !== undefined && localityMatches(proxy, r.from));
  if (rule === undefined) return [...groups];
  const weights = new Map<number, number>();
  const unmatched = new Set(groups.map((_, i) => i));
  for (const [to, pct] of Object.entries(rule.to ?? {})) {
    const hit = [...unmatched].filter((i) => localityMatches(groups[i].locality, to));
    const total = hit.reduce((sum, i) => sum + groups[i].weight, 0);
    for (const i of hit) {
      unmatched.delete(i);
      const w = Math.ceil((groups[i].weight * pct) / total);
      if (w > 0) weights.set(i, w);
    }
  }
  // Localities no `to` names get no traffic: they leave the assignment.
  return groups.flatMap((g, i) => (unmatched.has(i) ? [] : [{ ...g, weight: weights.get(i) ?? g.weight }]));
}

function byLocality<E>(groups: readonly LocalityGroup<E>[], proxy: LocalityModel | undefined, failover: NonNullable<LocalityLbSetting['failover']>): LocalityGroup<E>[] {
  const raw = groups.map((g) => {
    let p = localityPriority(proxy, g.locality);
    if (p === 3) {
      const f = failover.find((x) => x.from === (proxy?.region ?? ''));
      if (f !== undefined && g.locality?.region !== f.to) p = 4;
    }
    // Five locality levels within each priority failoverPriority already set.
    return g.priority * 5 + p;
  });
  return renumber(groups, raw);
}

function byFailoverPriority<E>(groups: readonly LocalityGroup<E>[], ctx: LocalityLbContext, labels: readonly string[], labelsOf: (e: E) => Readonly<Record<string, string>>): LocalityGroup<E>[] {
  if (Object.keys(ctx.proxyLabels).length === 0) return [...groups];
  const proxyLabels = withTopologyLabels(ctx.proxyLabels, ctx.proxyLocality);
  const names = labels.map((l) => l.split('=')[0]);
  const wanted = labels.map((l, i) => (l.includes('=') ? l.slice(l.indexOf('=') + 1) : proxyLabels[names[i]]));
  const split: LocalityGroup<E>[] = [];
  for (const g of groups) {
    const byPrio = new Map<number, E[]>();
    for (const e of g.endpoints) {
      const el = withTopologyLabels(labelsOf(e), g.locality);
      const miss = names.findIndex((n, i) => el[n] !== wanted[i]);
      const p = miss < 0 ? 0 : names.length - miss;
      byPrio.set(p, [...(byPrio.get(p) ?? []), e]);
    }
    for (const p of [...byPrio.keys()].sort((a, b) => a - b)) split.push({ locality: g.locality, endpoints: byPrio.get(p)!, weight: byPrio.get(p)!.length, priority: p });
  }
  return renumber(split, split.map((g) => g.priority));
}

/** Priorities 0..N in the order of `raw`, without gaps. */
function renumber<E>(groups: readonly LocalityGroup<E>[], raw: readonly number[]): LocalityGroup<E>[] {
  const order = [...new Set(raw)].sort((a, b) => a - b);
  return groups.map((g, i) => ({ ...g, priority: order.indexOf(raw[i]) }));
}
