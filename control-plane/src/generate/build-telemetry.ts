/**
 * Istio's Telemetry resources -> what a proxy's listeners carry (Istio's telemetry model):
 * the `istio.metadata_exchange` and `istio.stats` HTTP filters, the stats filter's metric
 * overrides, and an access log. Telemetries apply from the root namespace (mesh-wide), the
 * proxy's namespace, then those whose selector matches the proxy's labels; a more specific one
 * overrides what a broader one said, metric by metric. `mode` is the listener's side: CLIENT
 * (outbound, gateways) or SERVER (inbound). Where no Telemetry speaks of access logging, the
 * mesh config's `accessLogFile` (with its format) gives every listener an access log.
 */
import { parseAttributeExpr } from '@minimesh/config';
import { METADATA_EXCHANGE_FILTER, PEER_METADATA_CONFIG_TYPE, STATS_CONFIG_TYPE, STATS_FILTER, TELEMETRY_METRIC_NAMES, type IstioMetricName } from '@minimesh/mesh';
import { ACCESS_LOG_PROVIDER, METRICS_PROVIDER, type Telemetry } from '@minimesh/kube';
import type { MeshConfig } from '../model/mesh-config.js';
import type { MeshModel } from '../model/mesh-model.js';
import type { ProxyIdentity } from '../model/proxy-identity.js';
import type { JsonObject } from './envoy-json.js';

/** Istio's root namespace (the mesh config's `rootNamespace` by default). */
export const ROOT_NAMESPACE = 'istio-system';
const TYPED_STRUCT = 'type.googleapis.com/udpa.type.v1.TypedStruct';
const FILE_ACCESS_LOG = 'type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog';

/** Istio's default access log line (mesh config `accessLogFormat` unset). */
export const ISTIO_ACCESS_LOG_FORMAT =
  '[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS% %RESPONSE_CODE_DETAILS% %CONNECTION_TERMINATION_DETAILS% "%UPSTREAM_TRANSPORT_FAILURE_REASON%" %BYTES_RECEIVED% %BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%" %UPSTREAM_CLUSTER_RAW% %UPSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS% %REQUESTED_SERVER_NAME% %ROUTE_NAME%\n';

export type TelemetryMode = 'CLIENT' | 'SERVER';

/** What one listener gets. */
export interface ListenerTelemetry {
  /** The HTTP filters before the router (metadata exchange, stats unless every metric is off). */
  readonly filters: JsonObject[];
  /** The connection manager's `access_log`, or undefined for none. */
  readonly accessLog: JsonObject[] | undefined;
}

const ALL: readonly IstioMetricName[] = Object.values(TELEMETRY_METRIC_NAMES);

/** The Telemetries that apply to `proxy`, broadest first: mesh, namespace, workload. */
export function applicableTelemetries(model: MeshModel, proxy: ProxyIdentity): Telemetry[] {
  const selects = (t: Telemetry): boolean => Object.entries(t.spec?.selector?.matchLabels ?? {}).every(([k, v]) => proxy.labels[k] === v);
  const hasSelector = (t: Telemetry): boolean => Object.keys(t.spec?.selector?.matchLabels ?? {}).length > 0;
  const ns = (t: Telemetry): string => t.metadata.namespace ?? 'default';
  const rootNamespace = model.meshConfig?.rootNamespace ?? ROOT_NAMESPACE;
  // As Istio: one Telemetry per scope, the oldest (the model keeps them in creation order).
  const root = model.telemetries.find((t) => ns(t) === rootNamespace && !hasSelector(t) && proxy.namespace !== rootNamespace);
  const namespace = model.telemetries.find((t) => ns(t) === proxy.namespace && !hasSelector(t));
  const workload = model.telemetries.find((t) => ns(t) === proxy.namespace && hasSelector(t) && selects(t));
  return [root, namespace, workload].filter((t): t is Telemetry => t !== undefined);
}

const appliesTo = (mode: TelemetryMode, m: string | undefined): boolean => m === undefined || m === 'CLIENT_AND_SERVER' || m === mode;
const usesProvider = (providers: { name: string }[] | undefined, name: string): boolean => providers === undefined || providers.length === 0 || providers.some((p) => p.name === name);

interface MetricState {
  disabled: boolean;
  tags: Map<string, { op: 'UPSERT' | 'REMOVE'; value?: string }>;
}

/** The telemetry of a listener of `mode` on `proxy`; what cannot be honoured goes to `warnings`. */
export function buildListenerTelemetry(model: MeshModel, proxy: ProxyIdentity, mode: TelemetryMode, warnings: string[]): ListenerTelemetry {
  const state = new Map<IstioMetricName, MetricState>(ALL.map((m) => [m, { disabled: false, tags: new Map() }]));
  // Undefined until a Telemetry speaks of access logging: then the mesh config decides.
  let accessLog: boolean | undefined;
  for (const t of applicableTelemetries(model, proxy)) {
    const ref = `Telemetry ${t.metadata.namespace ?? 'default'}/${t.metadata.name}`;
    (t.spec?.metrics ?? []).forEach((m, i) => {
      // Providers named at a narrower scope replace the broader ones: without prometheus, no metric is exported here.
      if (!usesProvider(m.providers, METRICS_PROVIDER)) {
        for (const s of state.values()) s.disabled = true;
        return;
      }
      (m.overrides ?? []).forEach((o, j) => {
        if (!appliesTo(mode, o.match?.mode) || o.match?.customMetric !== undefined) return;
        const metric = o.match?.metric ?? 'ALL_METRICS';
        const targets = metric === 'ALL_METRICS' ? ALL : TELEMETRY_METRIC_NAMES[metric] ? [TELEMETRY_METRIC_NAMES[metric]] : [];
        for (const name of targets) {
          const s = state.get(name)!;
          if (o.disabled !== undefined) s.disabled = o.disabled;
          for (const [tag, op] of Object.entries(o.tagOverrides ?? {})) {
            if ((op.operation ?? 'UPSERT') === 'REMOVE') s.tags.set(tag, { op: 'REMOVE' });
            else if (typeof parseAttributeExpr(op.value ?? '') === 'string') {
              warnings.push(`${ref} spec.metrics[${i}].overrides[${j}].tagOverrides.${tag}.value: ${parseAttributeExpr(op.value ?? '') as string}; the tag is not added`);
            } else s.tags.set(tag, { op: 'UPSERT', value: op.value });
          }
        }
      });
    });
    for (const a of t.spec?.accessLogging ?? []) {
      if (!usesProvider(a.providers, ACCESS_LOG_PROVIDER) || !appliesTo(mode, a.match?.mode)) continue;
      accessLog = a.disabled !== true;
    }
  }
  const filters: JsonObject[] = [metadataExchangeFilter(mode)];
  if (ALL.some((m) => !state.get(m)!.disabled)) filters.push(statsFilter(mode, proxy, state));
  const meshLog = accessLog === undefined && model.meshConfig?.accessLogFile ? meshAccessLog(model.meshConfig) : undefined;
  return { filters, accessLog: accessLog ? [istioAccessLog()] : meshLog ? [meshLog] : undefined };
}

function metadataExchangeFilter(mode: TelemetryMode): JsonObject {
  const side = mode === 'CLIENT' ? 'upstream' : 'downstream';
  return {
    name: METADATA_EXCHANGE_FILTER,
    typed_config: { '@type': TYPED_STRUCT, type_url: PEER_METADATA_CONFIG_TYPE, value: { [`${side}_discovery`]: [{ istio_headers: {} }, { workload_discovery: {} }], [`${side}_propagation`]: [{ istio_headers: {} }] } },
  };
}

function statsFilter(mode: TelemetryMode, proxy: ProxyIdentity, state: Map<IstioMetricName, MetricState>): JsonObject {
  const metrics: JsonObject[] = [];
  for (const [name, s] of state) {
    const remove = [...s.tags].filter(([, t]) => t.op === 'REMOVE').map(([k]) => k);
    const dims = Object.fromEntries([...s.tags].filter(([, t]) => t.op === 'UPSERT').map(([k, t]) => [k, t.value!]));
    if (!s.disabled && remove.length === 0 && Object.keys(dims).length === 0) continue;
    metrics.push({ name, ...(s.disabled ? { drop: true } : {}), ...(Object.keys(dims).length > 0 ? { dimensions: dims } : {}), ...(remove.length > 0 ? { tags_to_remove: remove } : {}) });
  }
  // Istio's inbound listeners and gateways do not fall back to the Host header for destination_service.
  const value: JsonObject = { disable_host_header_fallback: mode === 'SERVER' || proxy.type === 'router' };
  if (metrics.length > 0) value.metrics = metrics;
  return { name: STATS_FILTER, typed_config: { '@type': TYPED_STRUCT, type_url: STATS_CONFIG_TYPE, value } };
}

/** The access log of the mesh config: `accessLogFile`, in `accessLogFormat` (TEXT, or JSON fields). */
function meshAccessLog(mc: MeshConfig): JsonObject {
  const text = mc.accessLogFormat || ISTIO_ACCESS_LOG_FORMAT;
  const log_format =
    mc.accessLogEncoding === 'JSON'
      ? { json_format: { ...(mc.accessLogJsonFormat ?? ISTIO_JSON_ACCESS_LOG_FORMAT) } }
      : { text_format_source: { inline_string: text.endsWith('\n') ? text : `${text}\n` } };
  return { name: 'envoy.access_loggers.file', typed_config: { '@type': FILE_ACCESS_LOG, path: mc.accessLogFile, log_format } };
}

/** Istio's default line as JSON fields (`accessLogEncoding: JSON` without a format). */
export const ISTIO_JSON_ACCESS_LOG_FORMAT: Readonly<Record<string, string>> = Object.fromEntries(
  [
    ['start_time', '%START_TIME%'],
    ['method', '%REQ(:METHOD)%'],
    ['path', '%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%'],
    ['protocol', '%PROTOCOL%'],
    ['response_code', '%RESPONSE_CODE%'],
    ['response_flags', '%RESPONSE_FLAGS%'],
    ['response_code_details', '%RESPONSE_CODE_DETAILS%'],
    ['connection_termination_details', '%CONNECTION_TERMINATION_DETAILS%'],
    ['upstream_transport_failure_reason', '%UPSTREAM_TRANSPORT_FAILURE_REASON%'],
    ['bytes_received', '%BYTES_RECEIVED%'],
    ['bytes_sent', '%BYTES_SENT%'],
    ['duration', '%DURATION%'],
    ['upstream_service_time', '%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)%'],
    ['x_forwarded_for', '%REQ(X-FORWARDED-FOR)%'],
    ['user_agent', '%REQ(USER-AGENT)%'],
    ['request_id', '%REQ(X-REQUEST-ID)%'],
    ['authority', '%REQ(:AUTHORITY)%'],
    ['upstream_host', '%UPSTREAM_HOST%'],
    ['upstream_cluster', '%UPSTREAM_CLUSTER_RAW%'],
    ['upstream_local_address', '%UPSTREAM_LOCAL_ADDRESS%'],
    ['downstream_local_address', '%DOWNSTREAM_LOCAL_ADDRESS%'],
    ['downstream_remote_address', '%DOWNSTREAM_REMOTE_ADDRESS%'],
    ['requested_server_name', '%REQUESTED_SERVER_NAME%'],
    ['route_name', '%ROUTE_NAME%'],
  ],
);

function istioAccessLog(): JsonObject {
  return { name: 'envoy.access_loggers.file', typed_config: { '@type': FILE_ACCESS_LOG, path: '/dev/stdout', log_format: { text_format_source: { inline_string: ISTIO_ACCESS_LOG_FORMAT } } } };
}
