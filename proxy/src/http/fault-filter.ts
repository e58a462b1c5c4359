/**
 * Envoy's fault filter (`envoy.filters.http.fault`) in the proxy: after the route is known and
 * before the router, a request may be held for a delay (response flag DI) and may be answered
 * by the proxy with an abort (FI, body `fault filter abort`, details `fault_filter_abort`).
 *
 * The settings that apply are the route's `typed_per_filter_config`, else the virtual host's,
 * else the filter's own. A fault applies only when `upstream_cluster`, `downstream_nodes` and
 * `headers` all match; then the delay and the abort are rolled separately against their
 * percentages (a delay can be followed by an abort). The `x-envoy-fault-*` request headers are
 * read only where the config asks for them (`header_delay`, `header_abort`), as in Envoy, so a
 * client cannot inject a fault the operator did not allow; their percentage headers only lower
 * the configured percentage. Stats are Envoy's: `http.<prefix>.fault.delays_injected`,
 * `aborts_injected`, `active_faults` (at most `max_active_faults`) and `faults_overflow`.
 */
import type { FaultPercentRt, HttpFaultRt, RequestView, RouteRt, VirtualHostRt } from '@minimesh/config';
import { matchHeader } from '@minimesh/config';
import type { StatsRegistry } from '../observability/stats.js';
import type { LocalReply } from '../router/local-reply.js';
import { getHeader, type HeaderList } from './codec/headers.js';

export const DELAY_HEADER = 'x-envoy-fault-delay-request';
export const DELAY_PERCENT_HEADER = 'x-envoy-fault-delay-request-percentage';
export const ABORT_HEADER = 'x-envoy-fault-abort-request';
export const ABORT_GRPC_HEADER = 'x-envoy-fault-abort-grpc-request';
export const ABORT_PERCENT_HEADER = 'x-envoy-fault-abort-request-percentage';
const DOWNSTREAM_NODE_HEADER = 'x-envoy-downstream-service-node';

/** Envoy's fault filter stats, one set per connection manager. */
export class FaultStats {
  delays_injected = 0;
  aborts_injected = 0;
  active_faults = 0;
  faults_overflow = 0;
}

/** The connection manager's fault filter: its own config and its stats. */
export interface FaultRun {
  readonly config: HttpFaultRt;
  readonly stats: FaultStats;
}

export function faultRun(config: HttpFaultRt | undefined, registry: StatsRegistry, hcmStatPrefix: string): FaultRun | undefined {
  if (config === undefined) return undefined;
  return { config, stats: registry.rbacScope(`http.${hcmStatPrefix}.fault.`, () => new FaultStats(), hcmStatPrefix) };
}

/** One request's fault: the settings it was judged by, and whether it holds an active fault. */
export class StreamFault {
  active = false;
  timer: NodeJS.Timeout | null = null;
  constructor(
    readonly run: FaultRun,
    readonly settings: HttpFaultRt,
  ) {}

  /** Counts one active fault per request, unless `max_active_faults` is reached (then overflow). */
  tryActivate(): boolean {
    if (this.active) return true;
    const s = this.run.stats;
    if (this.settings.maxActiveFaults !== undefined && s.active_faults >= this.settings.maxActiveFaults) {
      s.faults_overflow++;
      return false;
    }
    s.active_faults++;
    this.active = true;
    return true;
  }

  /** The request is over (or its delay ended with no abort): the fault is no longer active. */
  release(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.active) {
      this.run.stats.active_faults--;
      this.active = false;
    }
  }
}

/** The fault settings for a request, or undefined when none applies to it. */
export function matchFault(run: FaultRun, vh: VirtualHostRt | undefined, route: RouteRt | undefined, head: HeaderList, view: RequestView): StreamFault | undefined {
  const settings = route?.fault ?? vh?.fault ?? run.config;
  if (settings.delay === undefined && settings.abort === undefined) return undefined;
  if (settings.upstreamCluster !== '') {
    const action = route?.action;
    if (action === undefined || action.kind !== 'forward' || !action.clusters.some((c) => c.name === settings.upstreamCluster)) return undefined;
  }
  if (settings.downstreamNodes.length > 0) {
    const node = getHeader(head, DOWNSTREAM_NODE_HEADER);
    if (node === undefined || !settings.downstreamNodes.includes(node)) return undefined;
  }
  for (const h of settings.headers) if (!matchHeader(h, view)) return undefined;
  return new StreamFault(run, settings);
}

/** A percentage header lowers the configured numerator; it never raises it. */
function percentage(configured: FaultPercentRt, fromHeaders: boolean, head: HeaderList, header: string): FaultPercentRt {
  if (!fromHeaders) return configured;
  const v = getHeader(head, header);
  if (v === undefined || !/^\d+$/.test(v)) return configured;
  return { numerator: Math.min(Number(v), configured.numerator), denominator: configured.denominator };
}

function rolls(p: FaultPercentRt, random: () => number): boolean {
  return p.numerator > 0 && Math.floor(random() * p.denominator) < p.numerator;
}

/** The delay to inject, in ms (undefined: none). */
export function faultDelay(f: StreamFault, head: HeaderList, random: () => number = Math.random): number | undefined {
  const d = f.settings.delay;
  if (d === undefined) return undefined;
  const fromHeader = d.fixedMs === undefined;
  if (!rolls(percentage(d.percentage, fromHeader, head, DELAY_PERCENT_HEADER), random)) return undefined;
  let ms = d.fixedMs;
  if (fromHeader) {
    const v = getHeader(head, DELAY_HEADER);
    ms = v !== undefined && /^\d+$/.test(v) ? Number(v) : undefined;
  }
  if (ms === undefined || ms <= 0 || !f.tryActivate()) return undefined;
  f.run.stats.delays_injected++;
  return ms;
}

/** The reply of an abort, or undefined when no abort is injected. */
export function faultAbort(f: StreamFault, head: HeaderList, random: () => number = Math.random): LocalReply | undefined {
  const a = f.settings.abort;
  if (a === undefined) return undefined;
  const fromHeader = a.kind === 'header';
  if (!rolls(percentage(a.percentage, fromHeader, head, ABORT_PERCENT_HEADER), random)) return undefined;
  let status = a.httpStatus;
  let grpcStatus: number | undefined = a.kind === 'grpc' ? a.grpcStatus : undefined;
  if (fromHeader) {
    const http = getHeader(head, ABORT_HEADER);
    const grpc = getHeader(head, ABORT_GRPC_HEADER);
    if (http !== undefined && /^\d+$/.test(http) && Number(http) >= 200 && Number(http) < 600) status = Number(http);
    else if (grpc !== undefined && /^\d+$/.test(grpc)) {
      status = 200;
      grpcStatus = Number(grpc);
    } else return undefined;
  }
  if (!f.tryActivate()) return undefined;
  f.run.stats.aborts_injected++;
  return { status, body: 'fault filter abort', flag: 'FI', details: 'fault_filter_abort', grpcStatus };
}
