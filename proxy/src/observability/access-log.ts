/**
 * Access logs, one line per request, written through pino's asynchronous destination
 * (sonic-boom: buffered, flushed off the request path).
 *
 * With no `log_format`, a JSON line carrying the fields of Envoy's default format (named
 * after its command operators). With `text_format_source`/`format`, Envoy's command
 * operators (%START_TIME%, %REQ(X?Y)%, %RESPONSE_FLAGS%, ...) are expanded into a text
 * line, so Istio's access log format gives Istio's lines. `json_format` maps keys to
 * operator strings.
 */
import pino from 'pino';
import type { AccessLogRt } from '@minimesh/config/runtime';

/** What a finished request tells the access log. */
export interface AccessRecord {
  readonly startTime: number;
  readonly method: string;
  /** The path as the client sent it (before any rewrite). */
  readonly path: string;
  readonly protocol: string;
  readonly responseCode: number;
  readonly responseFlags: string;
  readonly responseCodeDetails: string;
  readonly bytesReceived: number;
  readonly bytesSent: number;
  readonly durationMs: number;
  /** x-envoy-upstream-service-time, or undefined on local replies. */
  readonly upstreamServiceTime: number | undefined;
  readonly upstreamHost: string | undefined;
  readonly upstreamCluster: string | undefined;
  readonly routeName: string | undefined;
  readonly downstreamRemoteAddress: string;
  readonly downstreamLocalAddress: string;
  readonly upstreamLocalAddress: string | undefined;
  /** The client certificate's URI SAN (mTLS), for %DOWNSTREAM_PEER_URI_SAN%. */
  readonly downstreamPeerUriSan?: string;
  reqHeader(name: string): string | undefined;
  respHeader(name: string): string | undefined;
}

type Dest = ReturnType<typeof pino.destination>;
const destinations = new Map<string, Dest>();

function destination(path: string): Dest {
  let d = destinations.get(path);
  if (d === undefined) {
    const dest = path === '/dev/stdout' ? 1 : path === '/dev/stderr' ? 2 : path;
    d = pino.destination({ dest, sync: false, mkdir: typeof dest === 'string' });
    destinations.set(path, d);
  }
  return d;
}

/** Flushes every access log destination (at exit). */
export function flushAccessLogs(): void {
  for (const d of destinations.values()) {
    try {
      d.flushSync();
    } catch {
      // a destination not yet open has nothing to flush
    }
  }
}

function dash(v: string | number | undefined): string {
  return v === undefined || v === '' ? '-' : String(v);
}

/** Expands one Envoy command operator (without the % signs). */
export function expandOperator(op: string, r: AccessRecord): string {
  const m = /^(REQ|RESP)\(([^)]+)\)(?::(\d+))?$/.exec(op);
  if (m !== null) {
    const [main, alt] = m[2].toLowerCase().split('?');
    const get = m[1] === 'REQ' ? (n: string) => r.reqHeader(n) : (n: string) => r.respHeader(n);
    const pseudo = (n: string): string | undefined =>
      n === ':method' ? r.method : n === ':path' ? r.path : n === ':authority' ? r.reqHeader('host') : get(n);
    let v = pseudo(main);
    if (v === undefined && alt !== undefined) v = pseudo(alt);
    if (v !== undefined && m[3] !== undefined) v = v.slice(0, Number(m[3]));
    return dash(v);
  }
  switch (op) {
    case 'START_TIME':
      return new Date(r.startTime).toISOString();
    case 'PROTOCOL':
      return r.protocol;
    case 'RESPONSE_CODE':
      return String(r.responseCode);
    case 'RESPONSE_FLAGS':
      return r.responseFlags;
    case 'RESPONSE_CODE_DETAILS':
      return dash(r.responseCodeDetails);
    case 'BYTES_RECEIVED':
      return String(r.bytesReceived);
    case 'BYTES_SENT':
      return String(r.bytesSent);
    case 'DURATION':
      return String(r.durationMs);
    case 'UPSTREAM_HOST':
      return dash(r.upstreamHost);
    case 'UPSTREAM_CLUSTER':
    case 'UPSTREAM_CLUSTER_RAW':
      return dash(r.upstreamCluster);
    case 'ROUTE_NAME':
      return dash(r.routeName);
    case 'DOWNSTREAM_REMOTE_ADDRESS':
      return r.downstreamRemoteAddress;
    case 'DOWNSTREAM_LOCAL_ADDRESS':
      return r.downstreamLocalAddress;
    case 'UPSTREAM_LOCAL_ADDRESS':
      return dash(r.upstreamLocalAddress);
    case 'DOWNSTREAM_PEER_URI_SAN':
      return dash(r.downstreamPeerUriSan);
    default:
      return '-';
  }
}

/** Expands every %OPERATOR% in an Envoy text format. */
export function formatText(format: string, r: AccessRecord): string {
  return format.replace(/%([A-Z_]+(?:\([^)]*\))?(?::\d+)?)%/g, (_, op: string) => expandOperator(op, r));
}

/** Envoy's default fields, as a JSON object. */
export function defaultFields(r: AccessRecord): Record<string, string | number> {
  return {
    start_time: new Date(r.startTime).toISOString(),
    method: r.method,
    path: r.reqHeader('x-envoy-original-path') ?? r.path,
    protocol: r.protocol,
    response_code: r.responseCode,
    response_flags: r.responseFlags,
    response_code_details: dash(r.responseCodeDetails),
    bytes_received: r.bytesReceived,
    bytes_sent: r.bytesSent,
    duration: r.durationMs,
    upstream_service_time: dash(r.upstreamServiceTime),
    x_forwarded_for: dash(r.reqHeader('x-forwarded-for')),
    user_agent: dash(r.reqHeader('user-agent')),
    request_id: dash(r.reqHeader('x-request-id')),
    authority: dash(r.reqHeader('host')),
    upstream_host: dash(r.upstreamHost),
    upstream_cluster: dash(r.upstreamCluster),
    route_name: dash(r.routeName),
    downstream_remote_address: r.downstreamRemoteAddress,
  };
}

/** The access logs of one connection manager, ready to write. */
export class AccessLogWriter {
  private readonly sinks: { dest: Dest; cfg: AccessLogRt }[];

  constructor(configs: readonly AccessLogRt[]) {
    this.sinks = configs.map((cfg) => ({ dest: destination(cfg.path), cfg }));
  }

  get enabled(): boolean {
    return this.sinks.length > 0;
  }

  write(r: AccessRecord): void {
    for (const s of this.sinks) {
      if (s.cfg.textFormat !== undefined) {
        const line = formatText(s.cfg.textFormat, r);
        s.dest.write(line.endsWith('\n') ? line : line + '\n');
      } else if (s.cfg.jsonFormat !== undefined) {
        const obj: Record<string, string> = {};
        for (const [k, v] of Object.entries(s.cfg.jsonFormat)) obj[k] = formatText(v, r);
        s.dest.write(JSON.stringify(obj) + '\n');
      } else {
        s.dest.write(JSON.stringify(defaultFields(r)) + '\n');
      }
    }
  }
}
