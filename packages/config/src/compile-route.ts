/** RouteConfiguration / VirtualHost / Route -> RouteConfigRt, with the virtual-host index. */
import type { AnyLike, Route, RouteConfiguration, VirtualHost } from '@minimesh/api';
import { allowOnly, join, Errors } from './errors.js';
import { compileHeaderMutations, HEADER_MUTATION_FIELDS } from './header-options.js';
import { compileDirectResponse, compileForwardAction, compileRedirect } from './compile-route-action.js';
import { compileRouteMatch } from './compile-route-match.js';
import { compileRetryPolicy } from './retry-policy.js';
import type { CompileResult, RetryPolicyRt, RouteActionRt, RouteConfigRt, RouteRt, VirtualHostRt } from './runtime.js';
import { buildVirtualHostIndex } from './vhost-index.js';
import { compilePerFilterConfig } from './per-filter-config.js';

const DOMAIN = /^(\*|\*?[a-z0-9._\-[\]:]+|[a-z0-9._\-[\]:]+\*)$/;

export function compileRouteConfiguration(rc: RouteConfiguration, path = ''): CompileResult<RouteConfigRt> {
  const errors = new Errors();
  const value = compileRouteConfigurationInto(rc, path, errors);
  return errors.count > 0 ? { ok: false, errors: errors.list } : { ok: true, value };
}

export function compileRouteConfigurationInto(rc: RouteConfiguration, path: string, errors: Errors): RouteConfigRt {
  allowOnly(rc, path, ['name', 'virtual_hosts', 'validate_clusters', ...HEADER_MUTATION_FIELDS], errors, [], {
    vhds: 'vhds is not supported by minimesh',
  });
  const seen = new Map<string, string>();
  const virtualHosts: VirtualHostRt[] = [];
  (rc.virtual_hosts ?? []).forEach((vh, i) => {
    const vp = `${join(path, 'virtual_hosts')}[${i}]`;
    const v = compileVirtualHost(vh, vp, errors);
    v.domains.forEach((d, j) => {
      const prev = seen.get(d);
      if (prev !== undefined) errors.add(`${join(vp, 'domains')}[${j}]`, `duplicate domain ${JSON.stringify(d)} (already in ${prev})`);
      else seen.set(d, vp);
    });
    virtualHosts.push(v);
  });
  return {
    name: rc.name ?? '',
    virtualHosts,
    ...compileHeaderMutations(rc, path, errors),
    vhostIndex: buildVirtualHostIndex(virtualHosts),
  };
}

export function compileVirtualHost(vh: VirtualHost, path: string, errors: Errors): VirtualHostRt {
  allowOnly(vh, path, ['name', 'domains', 'routes', 'retry_policy', 'typed_per_filter_config', 'require_tls', ...HEADER_MUTATION_FIELDS], errors, [], {
    cors: 'cors is not supported by minimesh yet',
  });
  if (!vh.name) errors.add(join(path, 'name'), 'must not be empty');
  const domains: string[] = [];
  const dp = join(path, 'domains');
  if (!vh.domains || vh.domains.length === 0) errors.add(dp, 'at least one domain is required');
  (vh.domains ?? []).forEach((d0, j) => {
    const d = d0.toLowerCase();
    if (!DOMAIN.test(d) || (d.length > 1 && d.startsWith('*') && d.endsWith('*'))) {
      errors.add(`${dp}[${j}]`, `invalid domain ${JSON.stringify(d0)} (use "*", "*.suffix", "prefix*" or an exact host, optionally with :port)`);
    } else if (domains.includes(d)) {
      errors.add(`${dp}[${j}]`, `duplicate domain ${JSON.stringify(d0)} in the same virtual host`);
    } else domains.push(d);
  });
  const retryPolicy = vh.retry_policy ? compileRetryPolicy(vh.retry_policy, join(path, 'retry_policy'), errors) : undefined;
  const routes: RouteRt[] = [];
  (vh.routes ?? []).forEach((r, k) => {
    const rt = compileRoute(r, `${join(path, 'routes')}[${k}]`, errors, retryPolicy);
    if (rt) routes.push(rt);
  });
  const filters = compilePerFilterConfig(vh.typed_per_filter_config, join(path, 'typed_per_filter_config'), errors);
  const tls = vh.require_tls ?? 'NONE';
  if (tls !== 'NONE' && tls !== 'ALL') errors.add(join(path, 'require_tls'), `${String(tls)} is not supported by minimesh yet (NONE or ALL)`);
  return { name: vh.name ?? '', domains, routes, retryPolicy, ...(tls === 'ALL' ? { requireTls: 'ALL' as const } : {}), ...compileHeaderMutations(vh, path, errors), ...filters };
}

export function compileRoute(r: Route, path: string, errors: Errors, vhostRetry: RetryPolicyRt | undefined): RouteRt | undefined {
  allowOnly(r, path, ['name', 'match', 'route', 'redirect', 'direct_response', 'metadata', 'typed_per_filter_config', ...HEADER_MUTATION_FIELDS], errors, ['action'], {
    filter_action: 'filter_action is not supported by minimesh',
    non_forwarding_action: 'non_forwarding_action is not supported by minimesh',
  });
  const match = compileRouteMatch(r.match, join(path, 'match'), errors);
  let action: RouteActionRt | undefined;
  switch (r.action) {
    case 'route':
      action = compileForwardAction(r.route!, join(path, 'route'), errors, vhostRetry);
      break;
    case 'redirect':
      action = compileRedirect(r.redirect!, join(path, 'redirect'), errors);
      break;
    case 'direct_response':
      action = compileDirectResponse(r.direct_response!, join(path, 'direct_response'), errors);
      break;
    default:
      if (!r.action) errors.add(path, 'one of route, redirect, direct_response is required');
  }
  const filters = compilePerFilterConfig(r.typed_per_filter_config, join(path, 'typed_per_filter_config'), errors);
  if (!match || !action) return undefined;
  return { name: r.name ?? '', match, action, ...compileHeaderMutations(r, path, errors), ...filters };
}
