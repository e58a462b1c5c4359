/** Listener + HttpConnectionManager + access logs -> ListenerRt. */
import { TYPE_URL, unpackAny, type ListenerFilterConfig, type AccessLog, type FileAccessLog, type HttpConnectionManager, type Listener, type StdoutAccessLog, type SubstitutionFormatString } from '@minimesh/api';
import { METADATA_EXCHANGE_FILTER, STATS_FILTER } from '@minimesh/mesh';
import { durationMs, wrapped, wrappedBool } from './duration.js';
import { compileCapture } from './compile-capture.js';
import { allowOnly, join, structToJson, Errors } from './errors.js';
import { compileRouteConfigurationInto } from './compile-route.js';
import { compileSocketAddress } from './socket-address.js';
import type { AccessLogRt, CompileResult, FilterChainRt, HttpConnectionManagerRt, ListenerRt, TcpProxyRt, RouteConfigRt, ServerHeaderTransformation } from './runtime.js';
import { compileIstioStats, compileMetadataExchange, isTelemetryFilter } from './compile-telemetry-filters.js';
import { compileCodecType, compileHttp2ProtocolOptions } from './compile-http-protocol.js';
import type { IstioStatsRt } from './telemetry-runtime.js';
import { compileHcmUpgradeConfigs } from './upgrade-config.js';
import { compileTcpProxyChain, isTcpProxyFilter, TCP_PROXY_FILTER } from './compile-tcp-proxy.js';
import { compileHttpRbac, HTTP_RBAC_FILTER } from './compile-rbac.js';
import { compileClientCertDetails } from './client-cert-runtime.js';

const optional = <K extends string, V>(k: K, v: V | undefined): { [P in K]?: V } => (v === undefined ? {} : ({ [k]: v } as { [P in K]: V }));
import type { RbacFilterRt } from './rbac-runtime.js';
import { compileJwtAuthn, JWT_AUTHN_FILTER } from './compile-jwt-authn.js';
import type { JwtAuthnRt } from './jwt-runtime.js';
import { compileHttpFault, FAULT_FILTER } from './compile-fault.js';
import type { HttpFaultRt } from './fault-runtime.js';
import { compileCorsFilter } from './compile-cors.js';
import { CORS_FILTER } from './cors-runtime.js';
import { checkDistinctMatches, chainNeedsSelection, compileChainHead, compileListenerFilters } from './compile-filter-chains.js';

export const HCM_FILTER = 'envoy.filters.network.http_connection_manager';
export const ROUTER_FILTER = 'envoy.filters.http.router';

export function compileListener(l: Listener, path = ''): CompileResult<ListenerRt> {
  const errors = new Errors();
  const value = compileListenerInto(l, path, errors);
  return value && errors.count === 0 ? { ok: true, value } : { ok: false, errors: errors.list };
}

export function compileListenerInto(l: Listener, path: string, errors: Errors): ListenerRt | undefined {
  allowOnly(l, path, ['name', 'address', 'filter_chains', 'stat_prefix', 'metadata', 'traffic_direction', 'use_original_dst', 'listener_filters', 'bind_to_port'], errors, ['listener_specifier'], {
    default_filter_chain: 'default_filter_chain is not supported by minimesh yet',
  });
  if (!l.name) errors.add(join(path, 'name'), 'must not be empty');
  const addr = compileSocketAddress(l.address, join(path, 'address'), errors);
  const chains = l.filter_chains ?? [];
  const fcp = join(path, 'filter_chains');
  const direction = l.traffic_direction === 'INBOUND' ? 'INBOUND' : 'OUTBOUND';
  const capture = compileCapture(l, path, errors);
  // A BoolValue present with no value (false is proto3's default, not on the wire) is false.
  const bind = l.bind_to_port as { value?: boolean } | null | undefined;
  const virtual = bind !== undefined && bind !== null && bind.value !== true;
  if (virtual && (capture !== undefined || !(chains.length > 1 || chains.some(chainNeedsSelection)))) {
    errors.add(join(path, 'bind_to_port'), 'false is supported by minimesh only on a listener with filter chain matching and without use_original_dst (a listener the capture listener or a CONNECT tunnel hands connections to)');
  }
  if (chains.length === 0) {
    errors.add(fcp, 'at least one filter chain is required');
    return undefined;
  }
  if (chains.length > 1 || chains.some(chainNeedsSelection)) {
    // Chains picked per connection by their match (and TLS terminated by the chain's transport socket).
    // An INBOUND capture listener (virtualInbound) picks its chain by the original destination's port.
    if (capture && capture.direction !== 'INBOUND') errors.add(join(path, 'use_original_dst'), 'an OUTBOUND capture listener takes one filter chain without filter_chain_match or transport_socket in minimesh');
    const filterChains: FilterChainRt[] = [];
    chains.forEach((fc, i) => {
      const p = `${fcp}[${i}]`;
      allowOnly(fc, p, ['filters', 'name', 'metadata', 'filter_chain_match', 'transport_socket'], errors);
      const head = compileChainHead(fc, p, errors);
      const body = compileChainFilters(fc.filters ?? [], join(p, 'filters'), errors, direction);
      if (body) filterChains.push({ ...head, ...body });
    });
    checkDistinctMatches(filterChains.map((c) => c.match), fcp, errors);
    const inspectors = compileListenerFilters(l.listener_filters, filterChains.map((c) => c.match), join(path, 'listener_filters'), errors);
    if (!addr || filterChains.length !== chains.length) return undefined;
    return { name: l.name ?? '', address: addr.address, port: addr.port, filterChains, inspectors, ...(capture ? { capture } : {}), ...(virtual ? { bindToPort: false as const } : {}) };
  }
  const p0 = `${fcp}[0]`;
  allowOnly(chains[0], p0, ['filters', 'name', 'metadata'], errors);
  compileListenerFilters(l.listener_filters, [], join(path, 'listener_filters'), errors);
  const body = compileChainFilters(chains[0].filters ?? [], join(p0, 'filters'), errors, direction);
  if (body && 'tcpProxy' in body && capture) errors.add(join(path, 'use_original_dst'), `a capture listener needs ${HCM_FILTER} (tcp_proxy chains are chosen by the capture code)`);
  if (!addr || !body) return undefined;
  return { name: l.name ?? '', address: addr.address, port: addr.port, ...body, ...(capture && 'hcm' in body ? { capture } : {}) };
}

/** One chain's `filters`: one HCM, or tcp_proxy after optional istio.stats. */
function compileChainFilters(filters: readonly ListenerFilterConfig[], fsp: string, errors: Errors, direction: 'INBOUND' | 'OUTBOUND'): { hcm: HttpConnectionManagerRt } | { tcpProxy: TcpProxyRt } | undefined {
  if (filters.length > 0 && isTcpProxyFilter(filters[filters.length - 1])) {
    const tcpProxy = compileTcpProxyChain(filters, fsp, errors, direction);
    return tcpProxy ? { tcpProxy } : undefined;
  }
  if (filters.length !== 1) {
    errors.add(fsp, `exactly one filter (${HCM_FILTER}), or ${TCP_PROXY_FILTER} after optional ${STATS_FILTER}, is supported by minimesh (got ${filters.length})`);
    return undefined;
  }
  const f = filters[0];
  const fp = `${fsp}[0]`;
  allowOnly(f, fp, ['name', 'typed_config'], errors, ['config_type']);
  if (f.typed_config?.type_url !== TYPE_URL.HttpConnectionManager) {
    errors.add(join(fp, 'typed_config'), `only ${HCM_FILTER} (HttpConnectionManager) and ${TCP_PROXY_FILTER} are supported by minimesh (got ${f.typed_config?.type_url ?? 'no typed_config'})`);
    return undefined;
  }
  const hcm = compileHcm(unpackAny<HttpConnectionManager>(f.typed_config), join(fp, 'typed_config'), errors, direction);
  return hcm ? { hcm } : undefined;
}

const SERVER_HEADER: readonly ServerHeaderTransformation[] = ['OVERWRITE', 'APPEND_IF_ABSENT', 'PASS_THROUGH'];

export function compileHcm(h: HttpConnectionManager, path: string, errors: Errors, direction: 'INBOUND' | 'OUTBOUND' = 'OUTBOUND'): HttpConnectionManagerRt | undefined {
  allowOnly(
    h,
    path,
    ['stat_prefix', 'codec_type', 'route_config', 'rds', 'http_filters', 'server_name', 'server_header_transformation', 'use_remote_address', 'xff_num_trusted_hops', 'generate_request_id', 'preserve_external_request_id', 'max_request_headers_kb', 'common_http_protocol_options', 'http2_protocol_options', 'request_headers_timeout', 'request_timeout', 'stream_idle_timeout', 'drain_timeout', 'access_log', 'upgrade_configs', 'normalize_path', 'path_with_escaped_slashes_action', 'forward_client_cert_details', 'set_current_client_cert_details'],
    errors,
    ['route_specifier', 'strip_port_mode'],
    {
      scoped_routes: 'scoped_routes is not supported by minimesh',
    },
  );
  if (!h.stat_prefix) errors.add(join(path, 'stat_prefix'), 'must not be empty');
  const codecType = compileCodecType(h.codec_type, join(path, 'codec_type'), errors);
  const http2 = compileHttp2ProtocolOptions(h.http2_protocol_options, join(path, 'http2_protocol_options'), errors);
  const filters = h.http_filters ?? [];
  let metadataExchange = false;
  let stats: IstioStatsRt | undefined;
  const rbacFilters: RbacFilterRt[] = [];
  let jwtAuthn: JwtAuthnRt | undefined;
  let fault: HttpFaultRt | undefined;
  let cors: true | undefined;
  filters.forEach((f, i) => {
    const fp = `${join(path, 'http_filters')}[${i}]`;
    allowOnly(f, fp, ['name', 'typed_config'], errors, ['config_type']);
    if (isTelemetryFilter(f.name)) {
      if (i === filters.length - 1) errors.add(fp, `${ROUTER_FILTER} must be the last HTTP filter`);
      if (f.name === METADATA_EXCHANGE_FILTER) metadataExchange = compileMetadataExchange(f.typed_config, join(fp, 'typed_config'), errors);
      else stats = compileIstioStats(f.typed_config, join(fp, 'typed_config'), errors, direction);
      return;
    }
    if (f.name === JWT_AUTHN_FILTER || f.typed_config?.type_url === TYPE_URL.JwtAuthentication) {
      // Request authentication: before the RBAC filters, which read what it verified.
      if (i === filters.length - 1) errors.add(fp, `${ROUTER_FILTER} must be the last HTTP filter`);
      if (jwtAuthn !== undefined) errors.add(fp, `one ${JWT_AUTHN_FILTER} filter is supported by minimesh`);
      else if (rbacFilters.length > 0) errors.add(fp, `${JWT_AUTHN_FILTER} must come before ${HTTP_RBAC_FILTER} in minimesh`);
      jwtAuthn = compileJwtAuthn(f.typed_config, fp, errors);
      return;
    }
    if (f.name === FAULT_FILTER || f.typed_config?.type_url === TYPE_URL.HttpFault) {
      if (i === filters.length - 1) errors.add(fp, `${ROUTER_FILTER} must be the last HTTP filter`);
      if (fault !== undefined) errors.add(fp, `one ${FAULT_FILTER} filter is supported by minimesh`);
      else fault = compileHttpFault(f.typed_config, join(fp, 'typed_config'), errors);
      return;
    }
    if (f.name === CORS_FILTER || f.typed_config?.type_url === TYPE_URL.Cors) {
      if (i === filters.length - 1) errors.add(fp, `${ROUTER_FILTER} must be the last HTTP filter`);
      cors = compileCorsFilter(f.typed_config, join(fp, 'typed_config'), errors);
      return;
    }
    if (f.name === HTTP_RBAC_FILTER || f.typed_config?.type_url === TYPE_URL.HttpRbac) {
      if (i === filters.length - 1) errors.add(fp, `${ROUTER_FILTER} must be the last HTTP filter`);
      const r = compileHttpRbac(f.typed_config, fp, errors, h.stat_prefix ?? '');
      if (r) rbacFilters.push(r);
      return;
    }
    const isRouter = f.name === ROUTER_FILTER || f.typed_config?.type_url === TYPE_URL.Router;
    if (!isRouter) {
      errors.add(fp, `HTTP filter ${JSON.stringify(f.name)} is not supported by minimesh yet (only ${METADATA_EXCHANGE_FILTER}, ${STATS_FILTER}, ${JWT_AUTHN_FILTER}, ${HTTP_RBAC_FILTER}, ${FAULT_FILTER}, ${CORS_FILTER} and ${ROUTER_FILTER})`);
      return;
    }
    if (i !== filters.length - 1) errors.add(fp, `${ROUTER_FILTER} must be the last HTTP filter`);
    if (f.typed_config) {
      if (f.typed_config.type_url !== TYPE_URL.Router) errors.add(join(fp, 'typed_config'), `expected ${TYPE_URL.Router}`);
      else allowOnly(unpackAny<object>(f.typed_config), join(fp, 'typed_config'), ['dynamic_stats'], errors);
    }
  });
  if (filters.length === 0) errors.add(join(path, 'http_filters'), `must end with ${ROUTER_FILTER}`);
  const cho = h.common_http_protocol_options;
  const chp = join(path, 'common_http_protocol_options');
  allowOnly(cho, chp, ['idle_timeout', 'max_headers_count', 'max_stream_duration', 'headers_with_underscores_action'], errors);
  const underscores = cho?.headers_with_underscores_action ?? 'ALLOW';
  if (!['ALLOW', 'REJECT_REQUEST', 'DROP_HEADER'].includes(underscores)) errors.add(join(chp, 'headers_with_underscores_action'), `must be ALLOW, REJECT_REQUEST or DROP_HEADER, not ${JSON.stringify(underscores)}`);
  const accessLogs: AccessLogRt[] = [];
  (h.access_log ?? []).forEach((al, i) => {
    const a = compileAccessLog(al, `${join(path, 'access_log')}[${i}]`, errors);
    if (a) accessLogs.push(a);
  });
  const escaped = h.path_with_escaped_slashes_action ?? 'IMPLEMENTATION_SPECIFIC_DEFAULT';
  if (escaped !== 'IMPLEMENTATION_SPECIFIC_DEFAULT' && escaped !== 'KEEP_UNCHANGED') errors.add(join(path, 'path_with_escaped_slashes_action'), `${escaped} is not supported by minimesh (escaped slashes are kept unchanged)`);
  const sht = (h.server_header_transformation ?? 'OVERWRITE') as ServerHeaderTransformation;
  if (!SERVER_HEADER.includes(sht)) errors.add(join(path, 'server_header_transformation'), `unknown value ${sht}`);
  const maxKb = wrapped(h.max_request_headers_kb, 60);
  if (maxKb < 1 || maxKb > 8192) errors.add(join(path, 'max_request_headers_kb'), 'must be between 1 and 8192');
  let rdsName: string | undefined;
  let routeConfig: RouteConfigRt;
  if (h.route_specifier === 'rds' && h.rds) {
    rdsName = compileRds(h.rds, join(path, 'rds'), errors);
    routeConfig = emptyRouteConfig(rdsName);
  } else if (h.route_config) {
    routeConfig = compileRouteConfigurationInto(h.route_config, join(path, 'route_config'), errors);
  } else {
    errors.add(path, 'route_config or rds is required');
    return undefined;
  }
  return {
    statPrefix: h.stat_prefix ?? '',
    direction,
    serverName: h.server_name || 'envoy',
    serverHeaderTransformation: sht,
    useRemoteAddress: wrappedBool(h.use_remote_address, false),
    xffNumTrustedHops: h.xff_num_trusted_hops ?? 0,
    generateRequestId: wrappedBool(h.generate_request_id, true),
    preserveExternalRequestId: h.preserve_external_request_id === true,
    maxRequestHeadersBytes: maxKb * 1024,
    maxHeadersCount: wrapped(cho?.max_headers_count, 100),
    ...(underscores === 'REJECT_REQUEST' || underscores === 'DROP_HEADER' ? { headersWithUnderscores: underscores } : {}),
    codecType,
    http2,
    requestHeadersTimeoutMs: durationMs(h.request_headers_timeout, 0, join(path, 'request_headers_timeout'), errors),
    requestTimeoutMs: durationMs(h.request_timeout, 0, join(path, 'request_timeout'), errors),
    idleTimeoutMs: durationMs(cho?.idle_timeout, 3_600_000, join(chp, 'idle_timeout'), errors),
    streamIdleTimeoutMs: durationMs(h.stream_idle_timeout, 300_000, join(path, 'stream_idle_timeout'), errors),
    maxStreamDurationMs: durationMs(cho?.max_stream_duration, 0, join(chp, 'max_stream_duration'), errors),
    drainTimeoutMs: durationMs(h.drain_timeout, 5_000, join(path, 'drain_timeout'), errors),
    accessLogs,
    telemetry: { reporter: direction === 'INBOUND' ? 'destination' : 'source', metadataExchange, stats },
    routeConfig,
    ...(rdsName !== undefined ? { rdsName } : {}),
    upgradeConfigs: compileHcmUpgradeConfigs(h.upgrade_configs, join(path, 'upgrade_configs'), errors),
    ...(rbacFilters.length > 0 ? { rbacFilters } : {}),
    ...(jwtAuthn !== undefined ? { jwtAuthn } : {}),
    ...(fault !== undefined ? { fault } : {}),
    ...(cors !== undefined ? { cors } : {}),
    ...(wrappedBool(h.normalize_path, false) ? { normalizePath: true } : {}),
    ...optional('clientCert', compileClientCertDetails(h, path, errors)),
  };
}

type Rds = NonNullable<HttpConnectionManager['rds']>;

/** `rds: {route_config_name, config_source: {ads: {}}}`: the only config source is ADS. */
function compileRds(rds: Rds, path: string, errors: Errors): string {
  allowOnly(rds, path, ['route_config_name', 'config_source'], errors);
  if (!rds.route_config_name) errors.add(join(path, 'route_config_name'), 'must not be empty');
  checkAdsConfigSource(rds.config_source, join(path, 'config_source'), errors);
  return rds.route_config_name ?? '';
}

/** A ConfigSource must be `{ads: {}}` (minimesh fetches every dynamic resource over ADS). */
export function checkAdsConfigSource(cs: { config_source_specifier?: string } | undefined | null, path: string, errors: Errors): void {
  if (!cs) {
    errors.add(path, 'config_source is required (use {ads: {}})');
    return;
  }
  allowOnly(cs, path, ['ads', 'resource_api_version', 'initial_fetch_timeout'], errors, ['config_source_specifier']);
  if (cs.config_source_specifier !== 'ads') errors.add(path, `only ads config sources are supported by minimesh (got ${cs.config_source_specifier ?? 'none'})`);
}

function emptyRouteConfig(name: string): RouteConfigRt {
  return { name, virtualHosts: [], requestHeadersToAdd: [], requestHeadersToRemove: [], responseHeadersToAdd: [], responseHeadersToRemove: [] };
}

export function compileAccessLog(al: AccessLog, path: string, errors: Errors): AccessLogRt | undefined {
  allowOnly(al, path, ['name', 'typed_config'], errors, ['config_type'], { filter: 'access log filters are not supported by minimesh yet' });
  const url = al.typed_config?.type_url;
  const tp = join(path, 'typed_config');
  if (url === TYPE_URL.FileAccessLog) {
    const f = unpackAny<FileAccessLog>(al.typed_config!);
    allowOnly(f, tp, ['path', 'log_format', 'format', 'json_format'], errors, ['access_log_format']);
    if (!f.path) errors.add(join(tp, 'path'), 'must not be empty');
    if (f.access_log_format === 'format') return { path: f.path ?? '', textFormat: f.format || undefined, jsonFormat: undefined };
    if (f.access_log_format === 'json_format') return { path: f.path ?? '', textFormat: undefined, jsonFormat: jsonFormat(structToJson(f.json_format), join(tp, 'json_format'), errors) };
    return { path: f.path ?? '', ...logFormat(f.log_format, join(tp, 'log_format'), errors) };
  }
  if (url === TYPE_URL.StdoutAccessLog || url === TYPE_URL.StderrAccessLog) {
    const s = unpackAny<StdoutAccessLog>(al.typed_config!);
    allowOnly(s, tp, ['log_format'], errors, ['access_log_format']);
    return { path: url === TYPE_URL.StdoutAccessLog ? '/dev/stdout' : '/dev/stderr', ...logFormat(s.log_format, join(tp, 'log_format'), errors) };
  }
  errors.add(tp, `access logger ${url ?? '(no typed_config)'} is not supported by minimesh (file, stdout, stderr)`);
  return undefined;
}

function jsonFormat(j: Record<string, unknown>, path: string, errors: Errors): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(j)) {
    if (typeof v === 'string') out[k] = v;
    else errors.add(join(path, k), 'only string values are supported by minimesh in json_format');
  }
  return out;
}

function logFormat(lf: SubstitutionFormatString | undefined, path: string, errors: Errors): Omit<AccessLogRt, 'path'> {
  if (!lf) return { textFormat: undefined, jsonFormat: undefined };
  allowOnly(lf, path, ['text_format_source', 'json_format', 'text_format', 'content_type'], errors, ['format']);
  if (lf.format === 'json_format') return { textFormat: undefined, jsonFormat: jsonFormat(structToJson(lf.json_format), join(path, 'json_format'), errors) };
  if (lf.format === 'text_format') return { textFormat: lf.text_format || undefined, jsonFormat: undefined };
  const ds = lf.text_format_source;
  if (ds) {
    allowOnly(ds, join(path, 'text_format_source'), ['inline_string'], errors, ['specifier']);
    return { textFormat: ds.inline_string || undefined, jsonFormat: undefined };
  }
  return { textFormat: undefined, jsonFormat: undefined };
}
