/** DestinationRule `loadBalancer.localityLbSetting`, checked as Istio's validation does. */
import { at, checkArray, checkDuration, checkFields, checkInt, checkNumber, checkString, isObject } from './check.js';
import type { IssueCollector } from './issues.js';

/** A locality pattern `region/zone/subzone`; `*` only as a whole, last segment. */
function checkLocalityPattern(c: IssueCollector, v: unknown, path: string): void {
  if (!checkString(c, v, path, true)) return;
  const parts = v.split('/');
  if (parts.length > 3 || parts.some((p) => p === '')) {
    c.error(path, `must be region, region/zone or region/zone/subzone (got ${JSON.stringify(v)})`);
    return;
  }
  const star = parts.indexOf('*');
  if (parts.some((p) => p.includes('*') && p !== '*') || (star >= 0 && star !== parts.length - 1)) c.error(path, `a wildcard must be a whole, last segment (got ${JSON.stringify(v)})`);
}

export function checkLocalityLbSetting(c: IssueCollector, v: unknown, path: string): void {
  if (!checkFields(c, v, path, ['distribute', 'failover', 'failoverPriority', 'enabled'])) return;
  if (v.enabled !== undefined && typeof v.enabled !== 'boolean') c.error(at(path, 'enabled'), 'must be true or false');
  const dist = at(path, 'distribute');
  if (checkArray(c, v.distribute, dist)) {
    v.distribute.forEach((d, i) => {
      const dp = at(dist, i);
      if (!checkFields(c, d, dp, ['from', 'to'])) return;
      checkLocalityPattern(c, d.from, at(dp, 'from'));
      const to = at(dp, 'to');
      if (!isObject(d.to) || Object.keys(d.to).length === 0) {
        c.error(to, 'must map at least one locality to a weight');
        return;
      }
      let sum = 0;
      for (const [loc, w] of Object.entries(d.to)) {
        checkLocalityPattern(c, loc, at(to, loc));
        if (checkInt(c, w, at(to, loc), 0, 100)) sum += w;
      }
      if (sum !== 100) c.error(to, `weights must total 100 (got ${sum})`);
    });
  }
  const fo = at(path, 'failover');
  if (checkArray(c, v.failover, fo)) {
    if (v.distribute !== undefined && v.failover.length > 0) c.error(path, 'distribute and failover cannot both be set');
    v.failover.forEach((f, i) => {
      const fp = at(fo, i);
      if (!checkFields(c, f, fp, ['from', 'to'])) return;
      if (checkString(c, f.from, at(fp, 'from'), true) && f.from.includes('/')) c.error(at(fp, 'from'), 'must be a region');
      if (checkString(c, f.to, at(fp, 'to'), true) && f.to.includes('/')) c.error(at(fp, 'to'), 'must be a region');
      if (f.from === f.to) c.error(fp, `from and to must differ (both ${JSON.stringify(f.from)})`);
    });
  }
  const fpr = at(path, 'failoverPriority');
  if (checkArray(c, v.failoverPriority, fpr)) v.failoverPriority.forEach((l, i) => checkString(c, l, at(fpr, i), true));
}

/** `warmupDurationSecs` and `warmup` (slow start): durations, a percentage, a positive aggression. */
export function checkWarmup(c: IssueCollector, lb: Record<string, unknown>, path: string): void {
  checkDuration(c, lb.warmupDurationSecs, at(path, 'warmupDurationSecs'), 1);
  const w = at(path, 'warmup');
  if (!checkFields(c, lb.warmup, w, ['duration', 'minimumPercent', 'aggression'])) return;
  if (lb.warmup.duration === undefined) c.error(at(w, 'duration'), 'is required');
  checkDuration(c, lb.warmup.duration, at(w, 'duration'), 1);
  checkNumber(c, lb.warmup.minimumPercent, at(w, 'minimumPercent'), 0, 100);
  if (lb.warmup.aggression !== undefined && !(typeof lb.warmup.aggression === 'number' && lb.warmup.aggression >= 1)) c.error(at(w, 'aggression'), 'must be a number of at least 1');
  if (lb.simple !== undefined && !['ROUND_ROBIN', 'LEAST_REQUEST', 'LEAST_CONN', 'UNSPECIFIED'].includes(lb.simple as string)) c.warn(path, `warmup applies to ROUND_ROBIN and LEAST_REQUEST only, not ${String(lb.simple)}`);
}
