/**
 * Istio's telemetry HTTP filters -> TelemetryRt. Envoy's protos lack their messages, so they
 * arrive as a `udpa.type.v1.TypedStruct` (or `xds.type.v3.TypedStruct`) whose `type_url` names
 * Istio's message and whose `value` holds its fields:
 *   istio.metadata_exchange  io.istio.http.peer_metadata.Config (discovery and propagation by
 *                            Istio's headers; the only method minimesh has)
 *   istio.stats              stats.PluginConfig: `reporter`, `disable_host_header_fallback`,
 *                            `metrics: [{name, dimensions, tags_to_remove, drop}]`
 * The reporter follows the listener's `traffic_direction`, as in Istio's proxy.
 */
import { TYPE_URL, unpackAny, type AnyLike } from '@minimesh/api';
import { ISTIO_METRICS, METADATA_EXCHANGE_FILTER, PEER_METADATA_CONFIG_TYPE, STATS_CONFIG_TYPE, STATS_FILTER, type IstioMetricName } from '@minimesh/mesh';
import { join, structToJson, type Errors } from './errors.js';
import type { AttributeExpr, DimensionRt, IstioStatsRt, MetricOverrideRt, Reporter } from './telemetry-runtime.js';

/** The newer home of the same message (also accepted). */
const XDS_TYPED_STRUCT = 'type.googleapis.com/xds.type.v3.TypedStruct';

export function isTelemetryFilter(name: string | undefined): boolean {
  return name === METADATA_EXCHANGE_FILTER || name === STATS_FILTER;
}

/** The TypedStruct's inner type and value, or undefined (error added). */
function typedStruct(any: AnyLike | undefined | null, path: string, errors: Errors): { typeUrl: string; value: Record<string, unknown> } | undefined {
  if (!any) return { typeUrl: '', value: {} };
  if (any.type_url !== TYPE_URL.TypedStruct && any.type_url !== XDS_TYPED_STRUCT) {
    errors.add(path, `expected a ${TYPE_URL.TypedStruct} carrying Istio's config (got ${any.type_url})`);
    return undefined;
  }
  const ts = unpackAny<{ type_url?: string; value?: unknown }>(any);
  return { typeUrl: ts.type_url ?? '', value: structToJson(ts.value) };
}

/** Accepts Istio's snake_case field names and proto3 JSON's camelCase. */
function field(o: Record<string, unknown>, snake: string): unknown {
  const camel = snake.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
  return o[snake] ?? o[camel];
}

function checkKeys(o: Record<string, unknown>, path: string, allowed: readonly string[], errors: Errors, unsupported: Readonly<Record<string, string>> = {}): void {
  const known = new Set(allowed.flatMap((k) => [k, k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase())]));
  for (const k of Object.keys(o)) {
    const snake = k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
    if (unsupported[snake] !== undefined) errors.add(join(path, k), unsupported[snake]);
    else if (!known.has(k)) errors.add(join(path, k), 'field not supported by minimesh');
  }
}

/** Identifies an added tag and its expression (`dimensionTags` holds these). */
export function dimensionKey(d: DimensionRt): string {
  return `${d.tag}=${JSON.stringify(d.value)}`;
}

/** `istio.metadata_exchange`: checks its config; true when valid. */
export function compileMetadataExchange(any: AnyLike | undefined | null, path: string, errors: Errors): boolean {
  const ts = typedStruct(any, path, errors);
  if (!ts) return false;
  if (ts.typeUrl !== '' && ts.typeUrl !== PEER_METADATA_CONFIG_TYPE) {
    errors.add(join(path, 'type_url'), `expected ${PEER_METADATA_CONFIG_TYPE} (got ${ts.typeUrl})`);
    return false;
  }
  checkKeys(ts.value, join(path, 'value'), ['upstream_discovery', 'upstream_propagation', 'downstream_discovery', 'downstream_propagation', 'shared_with_upstream', 'additional_labels'], errors);
  for (const k of ['upstream_discovery', 'upstream_propagation', 'downstream_discovery', 'downstream_propagation']) {
    const list = field(ts.value, k);
    if (list === undefined) continue;
    if (!Array.isArray(list)) {
      errors.add(join(join(path, 'value'), k), 'must be a list');
      continue;
    }
    list.forEach((m, i) => {
      const method = m !== null && typeof m === 'object' ? Object.keys(m) : [];
      // Istio's headers are what minimesh speaks; workload discovery falls back to endpoint metadata.
      for (const name of method) {
        if (!['istio_headers', 'istioHeaders', 'workload_discovery', 'workloadDiscovery'].includes(name)) {
          errors.add(`${join(join(path, 'value'), k)}[${i}].${name}`, 'only istio_headers and workload_discovery are supported by minimesh');
        }
      }
    });
  }
  return true;
}

/** `istio.stats` -> IstioStatsRt, for a listener of `direction`. */
export function compileIstioStats(any: AnyLike | undefined | null, path: string, errors: Errors, direction: 'INBOUND' | 'OUTBOUND'): IstioStatsRt | undefined {
  const ts = typedStruct(any, path, errors);
  if (!ts) return undefined;
  if (ts.typeUrl !== '' && ts.typeUrl !== STATS_CONFIG_TYPE) {
    errors.add(join(path, 'type_url'), `expected ${STATS_CONFIG_TYPE} (got ${ts.typeUrl})`);
    return undefined;
  }
  const vp = join(path, 'value');
  const v = ts.value;
  checkKeys(v, vp, ['reporter', 'disable_host_header_fallback', 'metrics', 'tcp_reporting_duration', 'rotation_interval', 'graceful_deletion_interval', 'debug', 'stat_prefix'], errors, {
    definitions: 'custom metric definitions are not supported by minimesh yet',
  });
  const rep = field(v, 'reporter');
  if (rep !== undefined && rep !== 'UNSPECIFIED' && rep !== '') errors.add(join(vp, 'reporter'), `${String(rep)} is not supported by minimesh (sidecars and gateways report by traffic direction)`);
  const reporter: Reporter = direction === 'INBOUND' ? 'destination' : 'source';
  const metrics = new Map<IstioMetricName, MetricOverrideRt>();
  const list = field(v, 'metrics') ?? [];
  if (!Array.isArray(list)) errors.add(join(vp, 'metrics'), 'must be a list');
  else list.forEach((m, i) => applyMetricConfig(m, `${join(vp, 'metrics')}[${i}]`, metrics, errors));
  // One value per (tag, expression): two metrics may give the same tag different expressions.
  const exprs = new Map<string, AttributeExpr>();
  for (const o of metrics.values()) for (const d of o.dimensions) exprs.set(dimensionKey(d), d.value);
  return {
    reporter,
    disableHostHeaderFallback: field(v, 'disable_host_header_fallback') === true,
    metrics,
    dimensionTags: [...exprs.keys()],
    dimensionExprs: [...exprs.values()],
  };
}

/** One `MetricConfig`: later entries win over earlier ones for the same metric, as in Istio. */
function applyMetricConfig(m: unknown, path: string, out: Map<IstioMetricName, MetricOverrideRt>, errors: Errors): void {
  if (m === null || typeof m !== 'object' || Array.isArray(m)) {
    errors.add(path, 'must be an object');
    return;
  }
  const o = m as Record<string, unknown>;
  checkKeys(o, path, ['name', 'dimensions', 'tags_to_remove', 'drop'], errors);
  const name = (field(o, 'name') ?? '') as string;
  const targets: readonly IstioMetricName[] = name === '' ? ISTIO_METRICS : (ISTIO_METRICS as readonly string[]).includes(name) ? [name as IstioMetricName] : [];
  if (targets.length === 0) {
    errors.add(join(path, 'name'), `unknown metric ${JSON.stringify(name)} (one of ${ISTIO_METRICS.join(', ')}, or empty for all)`);
    return;
  }
  const remove = field(o, 'tags_to_remove') ?? [];
  if (!Array.isArray(remove) || remove.some((t) => typeof t !== 'string')) errors.add(join(path, 'tags_to_remove'), 'must be a list of label names');
  const dims = field(o, 'dimensions') ?? {};
  const dimensions: { tag: string; value: AttributeExpr }[] = [];
  if (dims === null || typeof dims !== 'object' || Array.isArray(dims)) errors.add(join(path, 'dimensions'), 'must be a map of label name to expression');
  else {
    for (const [tag, expr] of Object.entries(dims)) {
      const dp = join(join(path, 'dimensions'), tag);
      if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(tag) || tag === 'le' || tag.startsWith('__')) errors.add(dp, 'not a valid Prometheus label name (le and names starting with __ are reserved)');
      else if (typeof expr !== 'string') errors.add(dp, 'must be an expression string');
      else {
        const parsed = parseAttributeExpr(expr);
        if (typeof parsed === 'string') errors.add(dp, parsed);
        else dimensions.push({ tag, value: parsed });
      }
    }
  }
  const drop = field(o, 'drop') === true;
  for (const t of targets) {
    const prev = out.get(t);
    const tags = new Set(prev?.tagsToRemove ?? []);
    for (const r of Array.isArray(remove) ? remove : []) tags.add(String(r));
    const dimsBy = new Map((prev?.dimensions ?? []).map((d) => [d.tag, d]));
    for (const d of dimensions) {
      dimsBy.set(d.tag, d);
      tags.delete(d.tag);
    }
    out.set(t, { drop: drop || (prev?.drop ?? false), tagsToRemove: tags, dimensions: [...dimsBy.values()] });
  }
}

const REQUEST_FIELDS = new Set(['host', 'method', 'url_path', 'path', 'scheme', 'protocol', 'useragent', 'id']);

/**
 * Parses the attribute expressions minimesh evaluates: a string literal (`'v'` or `"v"`),
 * `request.host|method|url_path|path|scheme|protocol|useragent|id`, `request.headers['name']`
 * and `response.code`. Returns the reason when it cannot.
 */
export function parseAttributeExpr(text: string): AttributeExpr | string {
  const s = text.trim();
  const lit = /^'([^'\\]*)'$|^"([^"\\]*)"$/.exec(s);
  if (lit) return { kind: 'literal', value: lit[1] ?? lit[2] };
  const hdr = /^request\.headers\[\s*(?:'([^']+)'|"([^"]+)")\s*\]$/.exec(s);
  if (hdr) return { kind: 'request_header', name: (hdr[1] ?? hdr[2]).toLowerCase() };
  const req = /^request\.([a-z_]+)$/.exec(s);
  if (req && REQUEST_FIELDS.has(req[1])) return { kind: 'request', field: req[1] as 'host' };
  if (s === 'response.code') return { kind: 'response_code' };
  return `expression ${JSON.stringify(text)} is not supported by minimesh (a quoted string, request.host, request.method, request.url_path, request.path, request.scheme, request.protocol, request.useragent, request.id, request.headers['NAME'] or response.code)`;
}
