/**
 * VirtualService checks:
 *   IST0101 ReferencedResourceNotFound: a `gateways:` entry, a destination `host`, `host:port`,
 *     `mirror host`, or `host+subset in destinationrule` that nothing defines;
 *   IST0112 VirtualServiceDestinationPortSelectorRequired: no port for a multi-port service;
 *   IST0132 VirtualServiceHostNotFoundInGateway: hosts the bound Gateway does not serve;
 *   IST0109 ConflictingMeshGatewayVirtualServiceHosts: two mesh VirtualServices for one host.
 */
import {
  conflictingMeshGatewayVirtualServiceHosts,
  referencedResourceNotFound,
  virtualServiceDestinationPortSelectorRequired,
  virtualServiceHostNotFoundInGateway,
  type AnalysisMessage,
} from './analysis-message.js';
import { field, findServiceHost, hostsIntersect, isRecord, records, resolveHost, serviceHosts, spec, str, stripHostNamespace, strings, type AnalysisContext } from './analysis-context.js';
import type { AnalyzedResource } from './analyzed-resource.js';

const MESH_GATEWAY = 'mesh';

interface Dest {
  readonly host: string;
  readonly subset?: string;
  readonly port?: number;
  readonly mirror: boolean;
}

function toDest(d: unknown, mirror: boolean): Dest | undefined {
  const host = str(field(d, 'host'));
  if (!host) return undefined;
  const port = field(d, 'port', 'number');
  return { host, subset: str(field(d, 'subset')) || undefined, port: typeof port === 'number' ? port : undefined, mirror };
}

/** Route destinations of http, tcp and tls rules, then the http mirrors. */
export function destinations(vs: AnalyzedResource): Dest[] {
  const out: Dest[] = [];
  for (const section of ['http', 'tcp', 'tls'])
    for (const rule of records(spec(vs)[section])) for (const r of records(rule.route)) out.push(...[toDest(r.destination, false)].filter((d): d is Dest => !!d));
  for (const rule of records(spec(vs).http)) {
    if (isRecord(rule.mirror)) out.push(...[toDest(rule.mirror, true)].filter((d): d is Dest => !!d));
    for (const m of records(rule.mirrors)) out.push(...[toDest(m.destination, true)].filter((d): d is Dest => !!d));
  }
  return out;
}

const gatewayRef = (name: string, vsNamespace: string): [string, string] => {
  const i = name.indexOf('/');
  return i < 0 ? [vsNamespace, name] : [name.slice(0, i), name.slice(i + 1)];
};

/** A Gateway's server hosts visible to VirtualServices of `namespace` (hosts may be `ns/host`, `./host`, `*\/host`). */
function gatewayHostsFor(gw: AnalyzedResource, namespace: string): string[] {
  const out: string[] = [];
  for (const h of records(spec(gw).servers).flatMap((s) => strings(s.hosts))) {
    const i = h.indexOf('/');
    const ns = i < 0 ? '*' : h.slice(0, i) === '.' ? gw.namespace : h.slice(0, i);
    if (ns === '*' || ns === namespace) out.push(stripHostNamespace(h));
  }
  return out;
}

export function analyzeVirtualServiceGateways(ctx: AnalysisContext): AnalysisMessage[] {
  const out: AnalysisMessage[] = [];
  for (const vs of ctx.of('VirtualService')) {
    const vsHosts = strings(spec(vs).hosts);
    for (const g of strings(spec(vs).gateways)) {
      if (g === MESH_GATEWAY) continue;
      const [ns, name] = gatewayRef(g, vs.namespace);
      const gw = ctx.find('Gateway', ns, name);
      if (!gw) out.push(referencedResourceNotFound(vs.origin, 'gateway', g));
      // Reported when none of the hosts is served, listing them all (also for a missing Gateway).
      const gwHosts = gw ? gatewayHostsFor(gw, vs.namespace) : [];
      if (!vsHosts.some((h) => gwHosts.some((gh) => hostsIntersect(gh, h)))) out.push(virtualServiceHostNotFoundInGateway(vs.origin, vsHosts, `${vs.namespace}/${vs.name}`, `${ns}/${name}`));
    }
  }
  return out;
}

export function analyzeVirtualServiceDestinations(ctx: AnalysisContext): AnalysisMessage[] {
  const hosts = serviceHosts(ctx);
  const subsets = new Set<string>();
  for (const dr of ctx.of('DestinationRule')) {
    const host = str(spec(dr).host);
    if (host) for (const s of records(spec(dr).subsets)) subsets.add(`${resolveHost(host, dr.namespace)}+${str(s.name) ?? ''}`);
  }
  const out: AnalysisMessage[] = [];
  for (const vs of ctx.of('VirtualService')) {
    for (const d of destinations(vs)) {
      const svc = findServiceHost(hosts, d.host, vs.namespace);
      if (!svc) {
        out.push(referencedResourceNotFound(vs.origin, d.mirror ? 'mirror host' : 'host', d.host));
        continue;
      }
      if (d.port === undefined && svc.ports.length > 1) out.push(virtualServiceDestinationPortSelectorRequired(vs.origin, d.host, svc.ports));
      else if (d.port !== undefined && !svc.ports.includes(d.port)) out.push(referencedResourceNotFound(vs.origin, 'host:port', `${d.host}:${d.port}`));
      if (d.subset !== undefined && !subsets.has(`${resolveHost(d.host, vs.namespace)}+${d.subset}`))
        out.push(referencedResourceNotFound(vs.origin, 'host+subset in destinationrule', `${d.host}+${d.subset}`));
    }
  }
  return out;
}

/** VirtualServices bound to the sidecars (no `gateways`, or `mesh` among them) sharing a host. */
export function analyzeConflictingMeshHosts(ctx: AnalysisContext): AnalysisMessage[] {
  const byHost = new Map<string, AnalyzedResource[]>();
  const vss = [...ctx.of('VirtualService')].sort((a, b) => `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`));
  for (const vs of vss) {
    const gateways = strings(spec(vs).gateways);
    if (gateways.length > 0 && !gateways.includes(MESH_GATEWAY)) continue;
    const exportTo = strings(spec(vs).exportTo);
    const scopes = exportTo.length === 0 || exportTo.includes('*') ? ['*'] : [...new Set(exportTo.map((e) => (e === '.' ? vs.namespace : e)))];
    for (const scope of scopes)
      for (const h of new Set(strings(spec(vs).hosts).map((x) => `${scope}/${resolveHost(x, vs.namespace)}`))) byHost.set(h, [...(byHost.get(h) ?? []), vs]);
  }
  const out: AnalysisMessage[] = [];
  for (const [host, list] of byHost) {
    if (list.length < 2) continue;
    const names = list.map((v) => `${v.namespace}/${v.name}`).join(',');
    // istioctl points at each VirtualService's metadata.name line.
    for (const vs of list) out.push(conflictingMeshGatewayVirtualServiceHosts({ ...vs.origin, line: vs.origin.nameLine ?? vs.origin.line }, names, host));
  }
  return out;
}
