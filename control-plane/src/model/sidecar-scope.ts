/**
 * What one proxy sees of the mesh (Istio's SidecarScope), as a MeshModel narrowed for it:
 *   exportTo  services (a ServiceEntry's `exportTo`, a Service's `networking.istio.io/exportTo`
 *             annotation), VirtualServices and DestinationRules not exported to the proxy's
 *             namespace are left out (model/export-to.ts), for sidecars and gateways alike
 *             (a DestinationRule always applies in its own namespace, as Istio's namespace-local rules);
 *   Sidecar   a sidecar's Sidecar resource, chosen as Istio does (the oldest whose
 *             workloadSelector matches in the proxy's namespace, else the oldest without
 *             selector there, else the oldest without selector in the root namespace), keeps
 *             only the services and VirtualServices its egress `hosts` name (`ns/dnsName`: ns
 *             `*` any, `.` the proxy's namespace, `~` none; dnsName `*`, `*.suffix` or a host).
 *             No egress: every service, as Istio's default `*\/*`. An egress listener with a
 *             `port` scopes that port only (a service's other ports follow the listener
 *             without port, and are hidden when there is none), as Istio binds it to that port.
 * Only the outbound side is narrowed: the proxy's inbound config reads the whole model.
 */
import type { Sidecar, VirtualService } from '@minimesh/kube';
import { hostMatches, hostsIntersect, resolveHost } from './hostnames.js';
import type { MeshModel, ServiceModel } from './mesh-model.js';
import type { ProxyIdentity } from './proxy-identity.js';
import { exportedTo } from './export-to.js';

export type OutboundTrafficMode = 'ALLOW_ANY' | 'REGISTRY_ONLY';

const nsOf = (r: { metadata: { namespace?: string } }): string => r.metadata.namespace ?? 'default';
const hasSelector = (s: Sidecar): boolean => Object.keys(s.spec?.workloadSelector?.labels ?? {}).length > 0;
const selects = (sel: Readonly<Record<string, string>>, labels: Readonly<Record<string, string>>): boolean => Object.entries(sel).every(([k, v]) => labels[k] === v);

/** The Sidecar resource that applies to a sidecar proxy (none for gateways), by Istio's precedence. */
export function sidecarFor(model: MeshModel, proxy: ProxyIdentity): Sidecar | undefined {
  if (proxy.type !== 'sidecar') return undefined;
  const all = model.sidecars ?? [];
  const own = all.filter((s) => nsOf(s) === proxy.namespace);
  return (
    own.find((s) => hasSelector(s) && selects(s.spec!.workloadSelector!.labels!, proxy.labels)) ??
    own.find((s) => !hasSelector(s)) ??
    all.find((s) => nsOf(s) === model.meshConfig.rootNamespace && !hasSelector(s))
  );
}

/** `ns/dnsName` split, `.` resolved to the proxy's namespace; undefined for `~` (no namespace). */
function egressHost(h: string, proxyNamespace: string): { ns: string; dns: string } | undefined {
  const i = h.indexOf('/');
  const ns = i < 0 ? '*' : h.slice(0, i);
  const dns = (i < 0 ? h : h.slice(i + 1)).toLowerCase();
  if (ns === '~') return undefined;
  return { ns: ns === '.' ? proxyNamespace : ns, dns };
}

/** The egress hosts of the proxy's Sidecar; undefined: no Sidecar, or one without egress (all hosts). */
export function egressHosts(model: MeshModel, proxy: ProxyIdentity): { ns: string; dns: string }[] | undefined {
  const egress = sidecarFor(model, proxy)?.spec?.egress;
  if (egress === undefined || egress.length === 0) return undefined;
  return egress.flatMap((e) => e.hosts ?? []).flatMap((h) => egressHost(h, proxy.namespace) ?? []);
}

/** One egress listener of the proxy's Sidecar: its port (undefined: every other port) and hosts. */
export interface EgressListenerScope {
  readonly port: number | undefined;
  readonly hosts: readonly { ns: string; dns: string }[];
}

/** The egress listeners of the proxy's Sidecar; undefined: no Sidecar, or one without egress. */
export function egressListeners(model: MeshModel, proxy: ProxyIdentity): EgressListenerScope[] | undefined {
  const egress = sidecarFor(model, proxy)?.spec?.egress;
  if (egress === undefined || egress.length === 0) return undefined;
  return egress.map((e) => ({ port: e.port?.number, hosts: (e.hosts ?? []).flatMap((h) => egressHost(h, proxy.namespace) ?? []) }));
}

/**
 * Whether a service's `port` is visible through the egress listeners: the listener bound to
 * that port decides (Istio's `egress[].port`), else the listener without a port; none: hidden.
 */
export function egressAllowsPort(listeners: readonly EgressListenerScope[], ns: string, host: string, port: number): boolean {
  const own = listeners.filter((l) => l.port === port);
  const applicable = own.length > 0 ? own : listeners.filter((l) => l.port === undefined);
  return applicable.some((l) => egressAllowsService(l.hosts, ns, host));
}

/** The service with only the ports its egress listeners show (itself when all are); undefined: none. */
function scopedPorts(svc: ServiceModel, listeners: readonly EgressListenerScope[] | undefined): ServiceModel | undefined {
  if (listeners === undefined || listeners.every((l) => l.port === undefined)) return svc;
  const ports = svc.ports.filter((p) => egressAllowsPort(listeners, svc.namespace, svc.hostname, p.port));
  if (ports.length === svc.ports.length) return svc;
  if (ports.length === 0) return undefined;
  const keep = new Set(ports.map((p) => p.port));
  const only = <V>(m: ReadonlyMap<number, V> | undefined): Map<number, V> | undefined => (m === undefined ? undefined : new Map([...m].filter(([k]) => keep.has(k))));
  return { ...svc, ports, endpoints: only(svc.endpoints)!, ...(svc.dnsTargets !== undefined ? { dnsTargets: only(svc.dnsTargets) } : {}) };
}

const nsMatches = (pattern: string, ns: string): boolean => pattern === '*' || pattern === ns;

/** Whether one of the egress hosts names `host` of namespace `ns`. */
export function egressAllowsService(hosts: readonly { ns: string; dns: string }[], ns: string, host: string): boolean {
  return hosts.some((h) => nsMatches(h.ns, ns) && hostMatches(h.dns, host));
}

function egressAllowsVirtualService(hosts: readonly { ns: string; dns: string }[], vs: VirtualService, domainSuffix: string): boolean {
  const vsHosts = (vs.spec?.hosts ?? []).map((h) => resolveHost(h, nsOf(vs), domainSuffix));
  return hosts.some((h) => nsMatches(h.ns, nsOf(vs)) && vsHosts.some((v) => hostsIntersect(h.dns, v)));
}

/** The outbound traffic policy for a proxy: its Sidecar's, else the mesh config's, else ALLOW_ANY. */
export function outboundTrafficMode(model: MeshModel, proxy: ProxyIdentity): OutboundTrafficMode {
  return sidecarFor(model, proxy)?.spec?.outboundTrafficPolicy?.mode ?? model.meshConfig.outboundTrafficPolicyMode ?? 'ALLOW_ANY';
}

/** The model narrowed to what `proxy` sees outbound (see above); the model itself when nothing is hidden. */
export function scopeForProxy(model: MeshModel, proxy: ProxyIdentity): MeshModel {
  const mc = model.meshConfig;
  const egress = egressHosts(model, proxy);
  const listeners = egressListeners(model, proxy);
  const services = model.services
    .filter((svc: ServiceModel) => exportedTo(svc.exportTo, mc.defaultServiceExportTo, svc.namespace, proxy.namespace) && (egress === undefined || egressAllowsService(egress, svc.namespace, svc.hostname)))
    .flatMap((svc) => scopedPorts(svc, listeners) ?? []);
  const narrowed = services.some((svc, i) => svc !== model.services[i]);
  // A delegate (no hosts) is judged against its root's namespace when it is resolved
  // (delegate-virtual-services.ts), not against the proxy's: it stays for that.
  const isDelegate = (vs: (typeof model.virtualServices)[number]): boolean => (vs.spec?.hosts ?? []).length === 0;
  const virtualServices = model.virtualServices.filter(
    (vs) => isDelegate(vs) || (exportedTo(vs.spec?.exportTo, mc.defaultVirtualServiceExportTo, nsOf(vs), proxy.namespace) && (egress === undefined || egressAllowsVirtualService(egress, vs, model.domainSuffix))),
  );
  // Istio keeps every DestinationRule for the proxies of its own namespace (its namespace-local rules), whatever its exportTo.
  const destinationRules = model.destinationRules.filter((dr) => nsOf(dr) === proxy.namespace || exportedTo(dr.spec?.exportTo, mc.defaultDestinationRuleExportTo, nsOf(dr), proxy.namespace));
  if (!narrowed && services.length === model.services.length && virtualServices.length === model.virtualServices.length && destinationRules.length === model.destinationRules.length) return model;
  return { ...model, services, servicesByHost: new Map(services.map((s) => [s.hostname, s])), virtualServices, destinationRules };
}
