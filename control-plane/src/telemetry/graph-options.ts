/**
 * The graph request's parameters, as Kiali's `/api/namespaces/graph` takes them, checked:
 * every bad value becomes a GraphParamError naming the parameter, what was given and what is
 * allowed (the dashboard answers 400 with it; the watch socket closes with it).
 */
import type { GraphType } from './graph-types.js';
import type { TcpRate } from './kiali-queries.js';

export const GRAPH_TYPES: readonly GraphType[] = ['app', 'service', 'versionedApp', 'workload'];
export const BOX_BY = ['app', 'cluster', 'namespace'] as const;
export const TCP_RATES: readonly TcpRate[] = ['sent', 'received', 'total', 'none'];
export const RESPONSE_TIMES = ['50', '95', '99'] as const;
/** Kiali's backend default when no duration is given. */
export const DEFAULT_DURATION = '10m';

export interface GraphOptions {
  readonly namespaces: readonly string[];
  readonly graphType: GraphType;
  readonly durationSec: number;
  /** As given (`60s`, `15m`), for messages. */
  readonly durationText: string;
  /** Unix seconds; fractional when defaulted to now (the local store is scraped more than once a second). */
  readonly queryTime: number;
  readonly injectServiceNodes: boolean;
  readonly boxBy: readonly string[];
  readonly tcp: TcpRate;
  /** The response-time quantile (0.5, 0.95, 0.99). */
  readonly quantile: number;
}

export class GraphParamError extends Error {
  constructor(
    readonly param: string,
    message: string,
  ) {
    super(`${param}: ${message}`);
  }
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** A Go/Prometheus-style duration (`90s`, `10m`, `1h30m`) in milliseconds; undefined if not one. */
export function parseDuration(text: string): number | undefined {
  if (!/^(\d+(ms|s|m|h|d))+$/.test(text)) return undefined;
  let ms = 0;
  for (const [, n, unit] of text.matchAll(/(\d+)(ms|s|m|h|d)/g)) ms += Number(n) * UNIT_MS[unit];
  return ms;
}

/** `600` -> `10m`, `90` -> `90s`, `3600` -> `1h`. */
export function formatSeconds(sec: number): string {
  if (sec % 3600 === 0) return `${sec / 3600}h`;
  if (sec % 60 === 0) return `${sec / 60}m`;
  return `${sec}s`;
}

const oneOf = (param: string, v: string, allowed: readonly string[]): never => {
  throw new GraphParamError(param, `${JSON.stringify(v)} is not one of ${allowed.join(', ')}`);
};

/**
 * Reads the parameters. `maxWindowSec` is the longest window the traffic source answers;
 * `now` gives the default queryTime (unix seconds).
 */
export function parseGraphOptions(params: URLSearchParams, maxWindowSec: number, now = Date.now() / 1000): GraphOptions {
  const nsText = params.get('namespaces') ?? '';
  const namespaces = [...new Set(nsText.split(',').map((s) => s.trim()).filter(Boolean))];
  if (namespaces.length === 0) throw new GraphParamError('namespaces', 'at least one namespace is required (namespaces=a,b)');
  for (const ns of namespaces) if (!DNS_LABEL.test(ns) || ns.length > 63) throw new GraphParamError('namespaces', `${JSON.stringify(ns)} is not a namespace name (lower-case letters, digits and '-')`);

  const graphType = (params.get('graphType') ?? 'workload') as GraphType;
  if (!GRAPH_TYPES.includes(graphType)) oneOf('graphType', graphType, GRAPH_TYPES);

  const durationText = params.get('duration') ?? DEFAULT_DURATION;
  const ms = parseDuration(durationText);
  if (ms === undefined || ms < 1000) throw new GraphParamError('duration', `${JSON.stringify(durationText)} is not a duration of at least 1s (e.g. 60s, 10m, 1h)`);
  const durationSec = Math.floor(ms / 1000);
  if (durationSec > maxWindowSec)
    throw new GraphParamError('duration', `duration ${durationText} exceeds what the control plane keeps (${formatSeconds(maxWindowSec)}); use --prometheus for longer windows`);

  const qt = params.get('queryTime');
  let queryTime = now;
  if (qt !== null && qt !== '') {
    if (!/^\d{1,12}$/.test(qt)) throw new GraphParamError('queryTime', `${JSON.stringify(qt)} is not a unix time in seconds`);
    queryTime = Number(qt);
  }

  const inj = params.get('injectServiceNodes') ?? 'true';
  if (inj !== 'true' && inj !== 'false') oneOf('injectServiceNodes', inj, ['true', 'false']);
  // The service graph is built from a service-injected workload graph.
  const injectServiceNodes = graphType === 'service' || inj === 'true';

  const boxText = params.get('boxBy') ?? '';
  const boxBy = boxText.split(',').map((s) => s.trim()).filter(Boolean);
  for (const b of boxBy) if (!(BOX_BY as readonly string[]).includes(b)) oneOf('boxBy', b, BOX_BY);

  const tcp = (params.get('rateTcp') ?? 'sent') as TcpRate;
  if (!TCP_RATES.includes(tcp)) oneOf('rateTcp', tcp, TCP_RATES);

  const rt = params.get('responseTime') ?? '95';
  if (!(RESPONSE_TIMES as readonly string[]).includes(rt)) oneOf('responseTime', rt, RESPONSE_TIMES);

  return { namespaces, graphType, durationSec, durationText, queryTime, injectServiceNodes, boxBy, tcp, quantile: Number(rt) / 100 };
}
