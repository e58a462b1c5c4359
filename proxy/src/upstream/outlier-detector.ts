/**
 * Envoy's outlier detection for one cluster (`outlier_detection`; Istio's DestinationRule
 * `outlierDetection`), the consecutive-error detectors:
 *   - every response code of a host feeds it: a 5xx counts towards `consecutive_5xx`, a 502,
 *     503 or 504 also towards `consecutive_gateway_failure`; anything else resets both;
 *   - failures that never got a response (connect failure, reset, timeout) are "local origin":
 *     unless `split_external_local_origin_errors`, they count as a 503 (a timeout as a 504);
 *     when split, they count towards `consecutive_local_origin_failure` and a connection that
 *     succeeds resets it;
 *   - the error that reaches a threshold ejects the host at once, if the detector is enforcing
 *     (`enforcing_*` %) and ejecting it keeps the ejected share within `max_ejection_percent`
 *     (else `ejections_overflow`); the host leaves the balancer;
 *   - every `interval`, an ejected host whose time is up comes back: its time is
 *     `base_ejection_time` × its ejection back-off (one more per ejection, capped by
 *     `max_ejection_time`), and a host that stays in for a base ejection time earns one back.
 * Stats are Envoy's `cluster.<name>.outlier_detection.*`; /clusters shows `failed_outlier_check`.
 */
import type { OutlierDetectionRt } from '@minimesh/config';
import type { UpstreamHost } from './upstream-host.js';
import { OutlierStats } from '../observability/stats.js';

export { OutlierStats };

type EjectionType = 'consecutive_5xx' | 'consecutive_gateway_failure' | 'consecutive_local_origin_failure';

/** One host's counters and ejection state. */
export class HostOutlierState {
  consecutive5xx = 0;
  consecutiveGateway = 0;
  consecutiveLocalOrigin = 0;
  ejected = false;
  numEjections = 0;
  /** The multiplier of base_ejection_time for the next return. */
  backoff = 0;
  lastEjection = 0;
  lastUnejection: number | undefined;
}

/** What happened to a request that got no response. */
export type LocalOriginResult = 'connect-failed' | 'timeout';

export class OutlierDetector {
  private readonly states = new Map<UpstreamHost, HostOutlierState>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    readonly config: OutlierDetectionRt,
    private readonly hosts: readonly UpstreamHost[],
    readonly stats: OutlierStats,
    /** The set of ejected hosts changed: the cluster rebuilds its balancer. */
    private readonly onChange: () => void,
    private readonly now: () => number = () => performance.now(),
    private readonly random: () => number = Math.random,
  ) {
    for (const h of hosts) this.states.set(h, new HostOutlierState());
    stats.ejections_active = 0;
    this.timer = setInterval(() => this.tick(), config.intervalMs);
    this.timer.unref();
  }

  isEjected(host: UpstreamHost): boolean {
    return this.states.get(host)?.ejected === true;
  }

  state(host: UpstreamHost): HostOutlierState | undefined {
    return this.states.get(host);
  }

  /** A response came back from `host` with this HTTP status. */
  putHttpStatus(host: UpstreamHost, status: number): void {
    const s = this.states.get(host);
    if (s === undefined) return;
    const c = this.config;
    if (status >= 500 && status < 600) {
      if (status >= 502 && status <= 504) {
        if (++s.consecutiveGateway === c.consecutiveGatewayFailure) this.onConsecutiveErrors(host, s, 'consecutive_gateway_failure');
      } else s.consecutiveGateway = 0;
      if (++s.consecutive5xx === c.consecutive5xx) this.onConsecutiveErrors(host, s, 'consecutive_5xx');
    } else {
      s.consecutive5xx = 0;
      s.consecutiveGateway = 0;
    }
  }

  /** A request to `host` failed without a response. */
  putLocalOrigin(host: UpstreamHost, result: LocalOriginResult): void {
    if (!this.config.splitLocalOrigin) {
      this.putHttpStatus(host, result === 'timeout' ? 504 : 503);
      return;
    }
    const s = this.states.get(host);
    if (s !== undefined && ++s.consecutiveLocalOrigin === this.config.consecutiveLocalOriginFailure) this.onConsecutiveErrors(host, s, 'consecutive_local_origin_failure');
  }

  /**
   * A connection to `host` was made. For a TCP relay that is the whole outcome (`final`): it
   * counts as a success. For an HTTP request the response decides; only in split mode does the
   * connection itself start the local-origin count over.
   */
  putConnectSuccess(host: UpstreamHost, final: boolean): void {
    if (!this.config.splitLocalOrigin) {
      if (final) this.putHttpStatus(host, 200);
      return;
    }
    const s = this.states.get(host);
    if (s !== undefined) s.consecutiveLocalOrigin = 0;
  }

  private onConsecutiveErrors(host: UpstreamHost, s: HostOutlierState, type: EjectionType): void {
    if (s.ejected) return;
    // The counter starts over, so the next run of errors is judged again.
    if (type === 'consecutive_5xx') s.consecutive5xx = 0;
    else if (type === 'consecutive_gateway_failure') s.consecutiveGateway = 0;
    else s.consecutiveLocalOrigin = 0;
    this.stats[`ejections_detected_${type}`]++;
    this.eject(host, s, type);
  }

  private eject(host: UpstreamHost, s: HostOutlierState, type: EjectionType): void {
    const c = this.config;
    const ejectedPercent = (100 * (this.stats.ejections_active + 1)) / this.hosts.length;
    if (!(ejectedPercent <= c.maxEjectionPercent || (c.alwaysEjectOneHost && this.stats.ejections_active === 0))) {
      this.stats.ejections_overflow++;
      return;
    }
    const enforcing = type === 'consecutive_5xx' ? c.enforcing5xx : type === 'consecutive_gateway_failure' ? c.enforcingGatewayFailure : c.enforcingLocalOriginFailure;
    if (enforcing <= 0 || Math.floor(this.random() * 100) >= enforcing) return;
    if (s.backoff * c.baseEjectionTimeMs < Math.max(c.baseEjectionTimeMs, c.maxEjectionTimeMs)) s.backoff++;
    s.ejected = true;
    s.numEjections++;
    s.lastEjection = this.now();
    this.stats.ejections_active++;
    this.stats.ejections_enforced_total++;
    this.stats[`ejections_enforced_${type}`]++;
    this.onChange();
  }

  /** The interval: ejected hosts whose time is up come back; steady hosts earn back-off. */
  tick(): void {
    const c = this.config;
    const now = this.now();
    let changed = false;
    for (const s of this.states.values()) {
      if (!s.ejected) {
        if (s.lastUnejection !== undefined && now - s.lastUnejection >= c.baseEjectionTimeMs && s.backoff > 0) s.backoff--;
        continue;
      }
      const ejectedFor = Math.min(c.baseEjectionTimeMs * s.backoff, Math.max(c.baseEjectionTimeMs, c.maxEjectionTimeMs));
      if (now - s.lastEjection < ejectedFor) continue;
      s.ejected = false;
      s.consecutive5xx = 0;
      s.consecutiveGateway = 0;
      s.consecutiveLocalOrigin = 0;
      s.lastUnejection = now;
      this.stats.ejections_active--;
      changed = true;
    }
    if (changed) this.onChange();
  }

  /** A new config replaced the cluster: hosts that stay keep their state (by address). */
  inherit(old: OutlierDetector): void {
    const byKey = new Map<string, HostOutlierState>();
    for (const [h, s] of old.states) byKey.set(h.key, s);
    let ejected = 0;
    for (const h of this.hosts) {
      const s = byKey.get(h.key);
      if (s === undefined) continue;
      this.states.set(h, s);
      if (s.ejected) ejected++;
    }
    this.stats.ejections_active = ejected;
    if (ejected > 0) this.onChange();
  }

  /** The cluster's hosts changed (DNS): new hosts start clean, gone hosts forget their state. */
  syncHosts(): void {
    const live = new Set(this.hosts);
    for (const [h, s] of this.states) {
      if (live.has(h)) continue;
      this.states.delete(h);
      if (s.ejected) this.stats.ejections_active--;
    }
    for (const h of this.hosts) if (!this.states.has(h)) this.states.set(h, new HostOutlierState());
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
