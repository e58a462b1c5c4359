/**
 * `minimesh stat`'s figures, as `linkerd viz stat` shows them, from a TrafficSource: per
 * deployment (workload) or service, the success rate (responses that are not 5xx, and not "no
 * response", over all), requests per second, latency p50/p95/p99 (ms) and open TCP connections
 * (opened − closed). Inbound traffic, as the destination sidecar reported it; with `--to` the
 * listed workloads' outbound traffic, as their own sidecars reported it.
 */
import { eq, quantileQuery, rateQuery, sumQuery, type Matcher, type TrafficSource } from './traffic-query.js';
import { formatSeconds, parseDuration } from './graph-options.js';

export type StatKind = 'deploy' | 'svc';

export interface StatTarget {
  readonly kind: StatKind;
  readonly name: string;
}

export interface StatRequest {
  readonly kind: StatKind;
  /** Undefined: every namespace. */
  readonly namespace?: string;
  readonly from?: StatTarget;
  readonly to?: StatTarget;
  readonly windowSec: number;
  /** Unix seconds. */
  readonly time: number;
}

export interface InventoryEntry {
  readonly namespace: string;
  readonly name: string;
  readonly pods: number;
  /** Pods with a sidecar. */
  readonly meshed: number;
}

export interface StatRow {
  readonly namespace: string;
  readonly name: string;
  readonly meshed?: { readonly meshed: number; readonly pods: number };
  /** Absent when there was no request in the window. */
  readonly requests?: { readonly success: number; readonly rps: number };
  readonly latencyMs?: { readonly p50: number; readonly p95: number; readonly p99: number };
  readonly tcpConnections?: number;
}

export interface StatResult {
  readonly kind: StatKind;
  readonly window: string;
  readonly rows: StatRow[];
}

export class StatParamError extends Error {
  constructor(
    readonly param: string,
    message: string,
  ) {
    super(`${param}: ${message}`);
  }
}

const KINDS: Record<string, StatKind> = { deploy: 'deploy', deployment: 'deploy', deployments: 'deploy', workload: 'deploy', svc: 'svc', service: 'svc', services: 'svc' };

export function parseStatKind(param: string, text: string): StatKind {
  const k = KINDS[text];
  if (!k) throw new StatParamError(param, `${JSON.stringify(text)} is not one of deploy, deployment, workload, svc, service`);
  return k;
}

export function parseStatTarget(param: string, text: string): StatTarget {
  const slash = text.indexOf('/');
  if (slash <= 0 || slash === text.length - 1) throw new StatParamError(param, `expected KIND/NAME (deploy/web, svc/web), got ${JSON.stringify(text)}`);
  return { kind: parseStatKind(param, text.slice(0, slash)), name: text.slice(slash + 1) };
}

/** `/api/stat`'s parameters: kind, namespace | allNamespaces=true, from, to, window (default 1m), time. */
export function parseStatParams(p: URLSearchParams, maxWindowSec: number, now = Date.now() / 1000): StatRequest {
  const kind = parseStatKind('kind', p.get('kind') ?? 'deploy');
  const all = p.get('allNamespaces') === 'true';
  const namespace = all ? undefined : (p.get('namespace') ?? 'default');
  const from = p.get('from') ? parseStatTarget('from', p.get('from')!) : undefined;
  const to = p.get('to') ? parseStatTarget('to', p.get('to')!) : undefined;
  if (from && from.kind !== 'deploy') throw new StatParamError('from', 'only a deployment can be a source (deploy/NAME)');
  if (to && kind !== 'deploy') throw new StatParamError('to', 'applies to deployments only (stat deploy --to ...)');
  if (from && to) throw new StatParamError('to', '--from and --to exclude each other');
  const windowText = p.get('window') ?? '1m';
  const ms = parseDuration(windowText);
  if (ms === undefined || ms < 1000) throw new StatParamError('window', `${JSON.stringify(windowText)} is not a duration of at least 1s (e.g. 30s, 1m, 10m)`);
  const windowSec = Math.floor(ms / 1000);
  if (windowSec > maxWindowSec) throw new StatParamError('window', `time window ${windowText} exceeds what the control plane keeps (${formatSeconds(maxWindowSec)}); use --prometheus for longer windows`);
  const t = p.get('time');
  if (t && !/^\d{1,12}$/.test(t)) throw new StatParamError('time', `${JSON.stringify(t)} is not a unix time in seconds`);
  return { kind, namespace, from, to, windowSec, time: t ? Number(t) : now };
}

function labelsFor(r: StatRequest): { reporter: string; nsLabel: string; nameLabel: string; matchers: Matcher[] } {
  const ms: Matcher[] = [];
  if (r.to) {
    // Outbound from the listed workloads to the target, as their own sidecars saw it.
    ms.push(eq('reporter', 'source'));
    if (r.namespace) ms.push(eq('source_workload_namespace', r.namespace));
    if (r.to.kind === 'deploy') ms.push(eq('destination_workload', r.to.name));
    else ms.push(eq('destination_service_name', r.to.name));
    if (r.namespace) ms.push(eq(r.to.kind === 'deploy' ? 'destination_workload_namespace' : 'destination_service_namespace', r.namespace));
    return { reporter: 'source', nsLabel: 'source_workload_namespace', nameLabel: 'source_workload', matchers: ms };
  }
  ms.push(eq('reporter', 'destination'));
  const [nsLabel, nameLabel] = r.kind === 'deploy' ? ['destination_workload_namespace', 'destination_workload'] : ['destination_service_namespace', 'destination_service_name'];
  if (r.namespace) ms.push(eq(nsLabel, r.namespace));
  if (r.from) {
    ms.push(eq('source_workload', r.from.name));
    if (r.namespace) ms.push(eq('source_workload_namespace', r.namespace));
  }
  return { reporter: 'destination', nsLabel, nameLabel, matchers: ms };
}

const isSuccess = (code: string | undefined): boolean => code !== undefined && code !== '0' && !code.startsWith('5');

export async function computeStat(source: TrafficSource, r: StatRequest, inventory: readonly InventoryEntry[]): Promise<StatResult> {
  const { nsLabel, nameLabel, matchers } = labelsFor(r);
  const by = [nsLabel, nameLabel];
  const w = r.windowSec;
  const [requests, p50, p95, p99, opened, closed] = await Promise.all([
    source.query(rateQuery('istio_requests_total', matchers, w, [...by, 'response_code'], r.time)),
    ...[0.5, 0.95, 0.99].map((q) => source.query(quantileQuery(q, 'istio_request_duration_milliseconds_bucket', matchers, w, by, r.time))),
    source.query(sumQuery('istio_tcp_connections_opened_total', matchers, by, r.time)),
    source.query(sumQuery('istio_tcp_connections_closed_total', matchers, by, r.time)),
  ]);
  interface Acc {
    namespace: string;
    name: string;
    total: number;
    ok: number;
    p50?: number;
    p95?: number;
    p99?: number;
    opened?: number;
    closed?: number;
  }
  const rows = new Map<string, Acc>();
  const key = (ns: string, name: string): string => `${ns}/${name}`;
  const get = (labels: Readonly<Record<string, string>>): Acc | undefined => {
    const ns = labels[nsLabel];
    const name = labels[nameLabel];
    if (!ns || !name || ns === 'unknown' || name === 'unknown') return undefined;
    let a = rows.get(key(ns, name));
    if (!a) rows.set(key(ns, name), (a = { namespace: ns, name, total: 0, ok: 0 }));
    return a;
  };
  const withFilters = Boolean(r.from || r.to);
  if (!withFilters) for (const e of inventory) if (!r.namespace || e.namespace === r.namespace) get({ [nsLabel]: e.namespace, [nameLabel]: e.name });
  for (const row of requests) {
    const a = get(row.labels);
    if (!a || !Number.isFinite(row.value)) continue;
    a.total += row.value;
    if (isSuccess(row.labels.response_code)) a.ok += row.value;
  }
  const setQ = (rowsQ: typeof p50, k: 'p50' | 'p95' | 'p99'): void => {
    for (const row of rowsQ) {
      const a = get(row.labels);
      if (a && Number.isFinite(row.value)) a[k] = row.value;
    }
  };
  setQ(p50, 'p50');
  setQ(p95, 'p95');
  setQ(p99, 'p99');
  for (const row of opened) {
    const a = get(row.labels);
    if (a) a.opened = row.value;
  }
  for (const row of closed) {
    const a = get(row.labels);
    if (a) a.closed = row.value;
  }
  const inv = new Map(inventory.map((e) => [key(e.namespace, e.name), e]));
  const out: StatRow[] = [...rows.values()]
    .sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name))
    .map((a) => {
      const e = inv.get(key(a.namespace, a.name));
      return {
        namespace: a.namespace,
        name: a.name,
        ...(e ? { meshed: { meshed: e.meshed, pods: e.pods } } : {}),
        ...(a.total > 0 ? { requests: { success: a.ok / a.total, rps: a.total } } : {}),
        ...(a.total > 0 && a.p50 !== undefined && a.p95 !== undefined && a.p99 !== undefined ? { latencyMs: { p50: a.p50, p95: a.p95, p99: a.p99 } } : {}),
        ...(a.opened !== undefined ? { tcpConnections: Math.max(0, a.opened - (a.closed ?? 0)) } : {}),
      };
    });
  return { kind: r.kind, window: formatSeconds(r.windowSec), rows: out };
}
