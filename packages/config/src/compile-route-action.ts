/** Route actions: route (forward), redirect, direct_response. */
import type { DirectResponseAction, RedirectAction, RouteAction } from '@minimesh/api';
import { durationMs } from './duration.js';
import { allowOnly, join, type Errors } from './errors.js';
import { compileHeaderMutations, HEADER_MUTATION_FIELDS } from './header-options.js';
import { compileRe2, re2Substitution } from './regex.js';
import { compileRetryPolicy } from './retry-policy.js';
import { compileRouteUpgradeConfigs } from './upgrade-config.js';
import { compileMirrorPolicies } from './compile-mirror.js';
import { compileHashPolicies } from './compile-hash.js';
import type { DirectResponseActionRt, ForwardActionRt, MaxStreamDurationRt, RedirectActionRt, RetryPolicyRt, WeightedClusterRt } from './runtime.js';

/** Envoy's default route timeout. */
export const DEFAULT_ROUTE_TIMEOUT_MS = 15_000;

const NO_HEADERS = {
  requestHeadersToAdd: [],
  requestHeadersToRemove: [],
  responseHeadersToAdd: [],
  responseHeadersToRemove: [],
} as const;

export function compileForwardAction(
  r: RouteAction,
  path: string,
  errors: Errors,
  vhostRetry: RetryPolicyRt | undefined,
): ForwardActionRt | undefined {
  allowOnly(
    r,
    path,
    ['cluster', 'weighted_clusters', 'prefix_rewrite', 'regex_rewrite', 'host_rewrite_literal', 'auto_host_rewrite', 'timeout', 'idle_timeout', 'retry_policy', 'upgrade_configs', 'max_grpc_timeout', 'grpc_timeout_offset', 'max_stream_duration', 'request_mirror_policies', 'hash_policy'],
    errors,
    ['cluster_specifier', 'host_rewrite_specifier'],
  );
  let clusters: WeightedClusterRt[] = [];
  let totalWeight = 0;
  if (r.cluster_specifier === 'cluster') {
    if (!r.cluster) errors.add(join(path, 'cluster'), 'must not be empty');
    clusters = [{ name: r.cluster ?? '', weight: 1, ...NO_HEADERS }];
    totalWeight = 1;
  } else if (r.cluster_specifier === 'weighted_clusters' && r.weighted_clusters) {
    const wp = join(path, 'weighted_clusters');
    const wc = r.weighted_clusters;
    allowOnly(wc, wp, ['clusters', 'total_weight'], errors, ['random_value_specifier']);
    (wc.clusters ?? []).forEach((c, i) => {
      const cp = `${join(wp, 'clusters')}[${i}]`;
      allowOnly(c, cp, ['name', 'weight', 'host_rewrite_literal', ...HEADER_MUTATION_FIELDS], errors, ['host_rewrite_specifier']);
      if (!c.name) errors.add(join(cp, 'name'), 'must not be empty');
      const weight = c.weight?.value ?? 0;
      totalWeight += weight;
      const hostRewriteLiteral = c.host_rewrite_literal || undefined;
      clusters.push({ name: c.name ?? '', weight, hostRewriteLiteral, ...compileHeaderMutations(c, cp, errors) });
    });
    if (clusters.length === 0) errors.add(join(wp, 'clusters'), 'at least one cluster is required');
    else if (totalWeight <= 0) errors.add(join(wp, 'clusters'), 'the sum of weights must be greater than 0');
    const tw = wc.total_weight?.value;
    if (tw !== undefined && tw !== totalWeight) {
      errors.add(join(wp, 'total_weight'), `is ${tw} but the cluster weights sum to ${totalWeight}`);
    }
    clusters = clusters.filter((c) => c.weight > 0);
  } else {
    errors.add(path, 'one of cluster, weighted_clusters is required (cluster_header and plugins are not supported by minimesh)');
  }
  let regexRewrite: ForwardActionRt['regexRewrite'];
  if (r.regex_rewrite) {
    const rp = join(path, 'regex_rewrite');
    allowOnly(r.regex_rewrite, rp, ['pattern', 'substitution'], errors);
    if (r.prefix_rewrite !== undefined && r.prefix_rewrite !== '') errors.add(rp, 'prefix_rewrite and regex_rewrite cannot both be set');
    const pat = r.regex_rewrite.pattern;
    if (!pat?.regex) errors.add(join(rp, 'pattern.regex'), 'regex is required');
    else {
      allowOnly(pat, join(rp, 'pattern'), ['regex', 'google_re2'], errors, ['engine_type']);
      const re = compileRe2(pat.regex, { global: true });
      if (!re.ok) errors.add(join(rp, 'pattern.regex'), `invalid regex ${JSON.stringify(pat.regex)}: ${re.message}`);
      else regexRewrite = { regex: re.regex, substitution: re2Substitution(r.regex_rewrite.substitution ?? '') };
    }
  }
  const retryPolicy = r.retry_policy ? compileRetryPolicy(r.retry_policy, join(path, 'retry_policy'), errors) : vhostRetry;
  if (r.host_rewrite_literal !== undefined && /[\s/]/.test(r.host_rewrite_literal)) {
    errors.add(join(path, 'host_rewrite_literal'), 'invalid host');
  }
  return {
    kind: 'forward',
    clusters,
    totalWeight: clusters.reduce((s, c) => s + c.weight, 0),
    prefixRewrite: r.prefix_rewrite || undefined,
    regexRewrite,
    hostRewriteLiteral: r.host_rewrite_specifier === 'host_rewrite_literal' ? r.host_rewrite_literal : undefined,
    autoHostRewrite: r.host_rewrite_specifier === 'auto_host_rewrite' && r.auto_host_rewrite?.value === true,
    timeoutMs: durationMs(r.timeout, DEFAULT_ROUTE_TIMEOUT_MS, join(path, 'timeout'), errors),
    maxGrpcTimeoutMs: r.max_grpc_timeout ? durationMs(r.max_grpc_timeout, 0, join(path, 'max_grpc_timeout'), errors) : undefined,
    grpcTimeoutOffsetMs: durationMs(r.grpc_timeout_offset, 0, join(path, 'grpc_timeout_offset'), errors),
    idleTimeoutMs: durationMs(r.idle_timeout, 0, join(path, 'idle_timeout'), errors),
    retryPolicy,
    upgradeConfigs: compileRouteUpgradeConfigs(r.upgrade_configs, join(path, 'upgrade_configs'), errors),
    maxStreamDuration: compileMaxStreamDuration(r.max_stream_duration, join(path, 'max_stream_duration'), errors),
    mirrors: compileMirrorPolicies(r.request_mirror_policies, join(path, 'request_mirror_policies'), errors),
    hashPolicies: compileHashPolicies(r.hash_policy, join(path, 'hash_policy'), errors),
  };
}

type MaxStreamDuration = NonNullable<RouteAction['max_stream_duration']>;

/**
 * `max_stream_duration` of a route (RouteAction.MaxStreamDuration). Its presence alone changes
 * the route's timeouts (Envoy's "new timeouts"): the router's `timeout` and `max_grpc_timeout`
 * no longer apply, the stream's duration does.
 */
function compileMaxStreamDuration(m: MaxStreamDuration | null | undefined, path: string, errors: Errors): MaxStreamDurationRt | undefined {
  if (!m) return undefined;
  allowOnly(m, path, ['max_stream_duration', 'grpc_timeout_header_max', 'grpc_timeout_header_offset'], errors);
  const opt = (d: MaxStreamDuration['max_stream_duration'], key: string): number | undefined => (d ? durationMs(d, 0, join(path, key), errors) : undefined);
  return {
    maxStreamDurationMs: opt(m.max_stream_duration, 'max_stream_duration'),
    grpcTimeoutHeaderMaxMs: opt(m.grpc_timeout_header_max, 'grpc_timeout_header_max'),
    grpcTimeoutHeaderOffsetMs: opt(m.grpc_timeout_header_offset, 'grpc_timeout_header_offset'),
  };
}

const REDIRECT_CODES: Record<string, number> = {
  MOVED_PERMANENTLY: 301,
  FOUND: 302,
  SEE_OTHER: 303,
  TEMPORARY_REDIRECT: 307,
  PERMANENT_REDIRECT: 308,
};

export function compileRedirect(r: RedirectAction, path: string, errors: Errors): RedirectActionRt {
  allowOnly(
    r,
    path,
    ['https_redirect', 'scheme_redirect', 'host_redirect', 'port_redirect', 'path_redirect', 'prefix_rewrite', 'response_code', 'strip_query'],
    errors,
    ['scheme_rewrite_specifier', 'path_rewrite_specifier'],
  );
  const status = REDIRECT_CODES[r.response_code ?? 'MOVED_PERMANENTLY'];
  if (status === undefined) errors.add(join(path, 'response_code'), `unknown response code ${String(r.response_code)}`);
  if (r.port_redirect !== undefined && (r.port_redirect < 0 || r.port_redirect > 65535)) {
    errors.add(join(path, 'port_redirect'), 'must be a port number');
  }
  if (r.path_redirect !== undefined && /[\s]/.test(r.path_redirect)) errors.add(join(path, 'path_redirect'), 'invalid path');
  return {
    kind: 'redirect',
    status: status ?? 301,
    schemeRedirect: r.scheme_redirect || undefined,
    httpsRedirect: r.https_redirect === true,
    hostRedirect: r.host_redirect || undefined,
    portRedirect: r.port_redirect || undefined,
    pathRedirect: r.path_rewrite_specifier === 'path_redirect' ? r.path_redirect : undefined,
    prefixRewrite: r.path_rewrite_specifier === 'prefix_rewrite' ? r.prefix_rewrite : undefined,
    stripQuery: r.strip_query === true,
  };
}

export function compileDirectResponse(d: DirectResponseAction, path: string, errors: Errors): DirectResponseActionRt {
  allowOnly(d, path, ['status', 'body'], errors);
  const status = d.status ?? 0;
  if (status < 200 || status > 599) errors.add(join(path, 'status'), 'must be between 200 and 599');
  let body: Buffer | undefined;
  if (d.body) {
    const bp = join(path, 'body');
    allowOnly(d.body, bp, ['inline_string', 'inline_bytes'], errors, ['specifier'], {
      filename: 'filename is not supported by minimesh; use inline_string',
      environment_variable: 'environment_variable is not supported by minimesh; use inline_string',
    });
    if (d.body.specifier === 'inline_string') body = Buffer.from(d.body.inline_string ?? '', 'utf8');
    else if (d.body.specifier === 'inline_bytes') body = Buffer.from(d.body.inline_bytes ?? []);
  }
  return { kind: 'direct', status, body };
}
