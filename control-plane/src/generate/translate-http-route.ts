/**
 * VirtualService `http[]` -> Envoy routes, first match wins (Istio's BuildHTTPRoutesForVirtualService).
 * Each HTTPRoute gives one Envoy route per match block that applies here (several blocks = OR).
 */
import type { Destination, HTTPMatchRequest, HTTPRoute, VirtualService, Headers } from '@minimesh/kube';
import { resolveHost } from '../model/hostnames.js';
import type { MeshModel } from '../model/mesh-model.js';
import type { ProxyIdentity } from '../model/proxy-identity.js';
import { compact, CORS_FILTER, FAULT_FILTER, type JsonObject } from './envoy-json.js';
import { translateCorsPolicy } from './translate-cors.js';
import { clusterName } from './naming.js';
import { translateRouteMatch } from './translate-match.js';
import { applyHeaders, translateFault, translateMirror, translateRetryPolicy, translateTimeout } from './translate-route-action.js';
import { destinationHashPolicy } from './translate-traffic-policy.js';

export const MESH_GATEWAY = 'mesh';

/** Where the routes are being built: a sidecar's port, or a gateway's server. */
export interface RouteContext {
  readonly model: MeshModel;
  readonly proxy: ProxyIdentity;
  /** The listener's port (the service port on sidecars, the server port on gateways). */
  readonly port: number;
  /** `mesh` on sidecars; `namespace/name` of the Gateways being served on gateways. */
  readonly gateways: ReadonlySet<string>;
  /** Problems worth telling the operator (unknown destination hosts, ...). */
  readonly warnings: string[];
}

/** A VirtualService's gateways as `namespace/name` (or `mesh`); none means `mesh`. */
export function resolveGatewayNames(names: readonly string[] | undefined, vsNamespace: string): string[] {
  if (!names || names.length === 0) return [MESH_GATEWAY];
  return names.map((g) => (g === MESH_GATEWAY || g.includes('/') ? g : `${vsNamespace}/${g}`));
}

const vsNs = (vs: VirtualService): string => vs.metadata.namespace ?? 'default';

function matchApplies(m: HTTPMatchRequest, vs: VirtualService, ctx: RouteContext): boolean {
  if (m.gateways && !resolveGatewayNames(m.gateways, vsNs(vs)).some((g) => ctx.gateways.has(g))) return false;
  if (m.port !== undefined && m.port !== ctx.port) return false;
  const isSidecar = ctx.gateways.has(MESH_GATEWAY);
  if (m.sourceLabels && !(isSidecar && Object.entries(m.sourceLabels).every(([k, v]) => ctx.proxy.labels[k] === v))) return false;
  if (m.sourceNamespace !== undefined && m.sourceNamespace !== ctx.proxy.namespace) return false;
  return true;
}

/** The cluster a destination names: host resolved in the VirtualService's namespace, port inferred when the service has one. */
/** The `hash_policy` entry for a destination whose DestinationRule uses consistent hashing. */
function destinationHash(d: Destination, vs: VirtualService, ctx: RouteContext): JsonObject | undefined {
  const host = resolveHost(d.host, vsNs(vs), ctx.model.domainSuffix);
  const svc = ctx.model.servicesByHost.get(host);
  const port = d.port?.number ?? (svc && svc.ports.length === 1 ? svc.ports[0].port : svc?.ports.some((p) => p.port === ctx.port) ? ctx.port : (svc?.ports[0]?.port ?? ctx.port));
  return destinationHashPolicy(ctx.model, ctx.proxy.namespace, host, d.subset, port);
}

export function destinationCluster(d: Destination, vs: VirtualService, ctx: RouteContext): string {
  const host = resolveHost(d.host, vsNs(vs), ctx.model.domainSuffix);
  const svc = ctx.model.servicesByHost.get(host);
  let port = d.port?.number;
  if (port === undefined) {
    if (svc && svc.ports.length === 1) port = svc.ports[0].port;
    else if (svc?.ports.some((p) => p.port === ctx.port)) port = ctx.port;
    else port = svc?.ports[0]?.port ?? ctx.port;
  }
  if (!svc) ctx.warnings.push(`VirtualService ${vsNs(vs)}/${vs.metadata.name}: destination host ${host} is not a known service`);
  else if (!svc.ports.some((p) => p.port === port)) ctx.warnings.push(`VirtualService ${vsNs(vs)}/${vs.metadata.name}: service ${host} has no port ${port}`);
  return clusterName({ direction: 'outbound', port, subset: d.subset, host });
}

function configPath(vs: VirtualService): string {
  return `/apis/${vs.apiVersion}/namespaces/${vsNs(vs)}/virtual-service/${vs.metadata.name}`;
}

const REDIRECT_CODES: Record<number, string> = { 301: 'MOVED_PERMANENTLY', 302: 'FOUND', 303: 'SEE_OTHER', 307: 'TEMPORARY_REDIRECT', 308: 'PERMANENT_REDIRECT' };

function applyAction(route: JsonObject, h: HTTPRoute, vs: VirtualService, ctx: RouteContext): void {
  if (h.redirect) {
    const r = h.redirect;
    route.redirect = compact({
      scheme_redirect: r.scheme,
      host_redirect: r.authority,
      port_redirect: r.port,
      path_redirect: r.uri,
      response_code: REDIRECT_CODES[r.redirectCode ?? 301],
    });
    return;
  }
  if (h.directResponse) {
    route.direct_response = compact({ status: h.directResponse.status, body: h.directResponse.body?.string !== undefined ? { inline_string: h.directResponse.body.string } : undefined });
    return;
  }
  const dests = (h.route ?? []).filter((d) => (h.route!.length === 1 ? true : (d.weight ?? 0) > 0));
  const action: JsonObject = {};
  let destHost: string | undefined;
  if (dests.length === 1) {
    action.cluster = destinationCluster(dests[0].destination, vs, ctx);
    // A single destination's headers act on the whole route.
    const split = splitHostHeader(dests[0].headers);
    destHost = split.host;
    applyHeaders(route, split.headers);
  } else {
    action.weighted_clusters = {
      clusters: dests.map((d) => {
        const wc: JsonObject = { name: destinationCluster(d.destination, vs, ctx), weight: d.weight ?? 0 };
        const split = splitHostHeader(d.headers);
        if (split.host !== undefined) wc.host_rewrite_literal = split.host;
        applyHeaders(wc, split.headers);
        return wc;
      }),
    };
  }
  const rw = h.rewrite;
  if (rw?.uri !== undefined) action.prefix_rewrite = rw.uri;
  if (rw?.uriRegexRewrite) action.regex_rewrite = { pattern: { regex: rw.uriRegexRewrite.match ?? '' }, substitution: rw.uriRegexRewrite.rewrite ?? '' };
  // Setting the host header is an authority rewrite in Istio (route level, else the destination's).
  const hostSet = splitHostHeader(h.headers).host ?? destHost;
  if (rw?.authority !== undefined || hostSet !== undefined) action.host_rewrite_literal = rw?.authority ?? hostSet;
  action.timeout = translateTimeout(h.timeout);
  const retry = translateRetryPolicy(h.retries);
  if (retry) action.retry_policy = retry;
  // Consistent hashing: the first destination whose DestinationRule hashes gives the route its policy.
  const hashPolicy = dests.map((d) => destinationHash(d.destination, vs, ctx)).find((hp) => hp !== undefined);
  if (hashPolicy) action.hash_policy = [hashPolicy];
  if (h.mirror) action.request_mirror_policies = [translateMirror(destinationCluster(h.mirror, vs, ctx), h.mirrorPercentage)];
  else if (h.mirrors && h.mirrors.length > 0) action.request_mirror_policies = h.mirrors.map((m) => translateMirror(destinationCluster(m.destination, vs, ctx), m.percentage));
  route.route = action;
}

/**
 * Istio treats `headers.request.set` of `host` or `:authority` as an authority rewrite
 * (Envoy may not modify Host through header mutations): the value, and the headers without it.
 */
function splitHostHeader(h: Headers | undefined): { host: string | undefined; headers: Headers | undefined } {
  const set = h?.request?.set;
  if (h === undefined || set === undefined) return { host: undefined, headers: h };
  const isHost = (k: string): boolean => k.toLowerCase() === 'host' || k.toLowerCase() === ':authority';
  const host = Object.entries(set).find(([k]) => isHost(k))?.[1];
  if (host === undefined) return { host: undefined, headers: h };
  return { host, headers: { ...h, request: { ...h.request, set: Object.fromEntries(Object.entries(set).filter(([k]) => !isHost(k))) } } };
}

/** The Envoy routes for one HTTPRoute (none if no match block applies here). */
export function translateHttpRoute(h: HTTPRoute, vs: VirtualService, ctx: RouteContext): JsonObject[] {
  const matches = h.match && h.match.length > 0 ? h.match.filter((m) => matchApplies(m, vs, ctx)) : [undefined];
  if (matches.length === 0) return [];
  return matches.map((m) => {
    const route: JsonObject = {};
    const name = h.name && m?.name ? `${h.name}.${m.name}` : (h.name ?? m?.name);
    if (name) route.name = name;
    route.match = translateRouteMatch(m);
    route.metadata = { filter_metadata: { istio: { config: configPath(vs) } } };
    applyAction(route, h, vs, ctx);
    applyHeaders(route, splitHostHeader(h.headers).headers);
    if (h.fault || h.corsPolicy) {
      route.typed_per_filter_config = compact({ [FAULT_FILTER]: h.fault ? translateFault(h.fault) : undefined, [CORS_FILTER]: h.corsPolicy ? translateCorsPolicy(h.corsPolicy) : undefined });
    }
    return route;
  });
}

/** All routes of a VirtualService in order. */
export function translateVirtualServiceRoutes(vs: VirtualService, ctx: RouteContext): JsonObject[] {
  return (vs.spec?.http ?? []).flatMap((h) => translateHttpRoute(h, vs, ctx));
}

/** Istio's route for a service port that no VirtualService claims. */
export function buildDefaultRoute(cluster: string): JsonObject {
  return { name: 'default', match: { prefix: '/' }, route: { cluster, timeout: '0s', retry_policy: translateRetryPolicy(undefined) } };
}
