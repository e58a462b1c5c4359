/** What every analyzer reads: the resources by kind, and the small rules they share. */
import { resolveHost } from '../model/hostnames.js';
import type { AnalyzedResource, RawObject } from './analyzed-resource.js';

export { resolveHost, hostsIntersect, stripHostNamespace } from '../model/hostnames.js';

export interface AnalysisContext {
  readonly resources: readonly AnalyzedResource[];
  of(kind: string): readonly AnalyzedResource[];
  find(kind: string, namespace: string, name: string): AnalyzedResource | undefined;
}

export function makeContext(resources: readonly AnalyzedResource[]): AnalysisContext {
  const byKind = new Map<string, AnalyzedResource[]>();
  for (const r of resources) byKind.set(r.kind, [...(byKind.get(r.kind) ?? []), r]);
  return {
    resources,
    of: (kind) => byKind.get(kind) ?? [],
    find: (kind, namespace, name) => byKind.get(kind)?.find((r) => r.namespace === namespace && r.name === name),
  };
}

/** Namespaces no analyzer looks at (Kubernetes' own). */
export const IGNORED_NAMESPACES: ReadonlySet<string> = new Set(['kube-system', 'kube-public', 'kube-node-lease', 'local-path-storage']);
export const MESH_SYSTEM_NAMESPACE = 'istio-system';

export const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
export const records = (v: unknown): Record<string, unknown>[] => (Array.isArray(v) ? v.filter(isRecord) : []);
export const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
export const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
export const field = (o: unknown, ...path: string[]): unknown => path.reduce<unknown>((x, k) => (isRecord(x) ? x[k] : undefined), o);
export const spec = (r: AnalyzedResource): RawObject => (isRecord(r.obj.spec) ? r.obj.spec : {});

/** The control plane and gateways installed with the mesh: labelled `istio` or `release=istio`. */
export const isMeshControlPlane = (r: AnalyzedResource): boolean => r.labels.istio !== undefined || r.labels.release === 'istio';

/** A label selector as Kubernetes prints it: `k1=v1,k2=v2`, keys sorted. */
export const selectorString = (sel: Readonly<Record<string, string>>): string =>
  Object.keys(sel)
    .sort()
    .map((k) => `${k}=${sel[k]}`)
    .join(',');

/** An empty selector selects everything, as a Kubernetes label selector does. */
export const selects = (sel: Readonly<Record<string, string>>, labels: Readonly<Record<string, string>>): boolean => Object.entries(sel).every(([k, v]) => labels[k] === v);

export const stringMap = (v: unknown): Record<string, string> =>
  isRecord(v) ? Object.fromEntries(Object.entries(v).filter((e): e is [string, string] => typeof e[1] === 'string')) : {};

/** A mesh service as analyzers see it: a Kubernetes Service's FQDN, or a ServiceEntry host. */
export interface ServiceHost {
  readonly host: string;
  readonly namespace: string;
  readonly ports: readonly number[];
  /** Set for Kubernetes Services. */
  readonly selector?: Readonly<Record<string, string>>;
}

export function serviceHosts(ctx: AnalysisContext): ServiceHost[] {
  const out: ServiceHost[] = [];
  for (const s of ctx.of('Service')) {
    const ports = records(spec(s).ports).map((p) => p.port).filter((p): p is number => typeof p === 'number');
    out.push({ host: `${s.name}.${s.namespace}.svc.cluster.local`, namespace: s.namespace, ports, selector: stringMap(spec(s).selector) });
  }
  for (const se of ctx.of('ServiceEntry')) {
    const ports = records(spec(se).ports).map((p) => p.number).filter((p): p is number => typeof p === 'number');
    for (const h of strings(spec(se).hosts)) out.push({ host: resolveHost(h, se.namespace), namespace: se.namespace, ports });
  }
  return out;
}

/** The service a destination host (resolved in `namespace`) names: exact first, then a wildcard ServiceEntry host. */
export function findServiceHost(hosts: readonly ServiceHost[], host: string, namespace: string): ServiceHost | undefined {
  const fqdn = resolveHost(host, namespace);
  return hosts.find((s) => s.host === fqdn) ?? hosts.find((s) => s.host.startsWith('*') && fqdn.endsWith(s.host.slice(1)));
}

/** Pod-like things with labels: Pods, and the pod templates of workloads read from files. */
export interface PodLabels {
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
}

const WORKLOAD_KINDS = ['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet'];

export function podLabels(ctx: AnalysisContext, withTemplates: boolean): PodLabels[] {
  const out: PodLabels[] = ctx.of('Pod').map((p) => ({ namespace: p.namespace, labels: p.labels }));
  if (withTemplates)
    for (const k of WORKLOAD_KINDS) for (const w of ctx.of(k)) out.push({ namespace: w.namespace, labels: stringMap(field(w.obj, 'spec', 'template', 'metadata', 'labels')) });
  return out;
}
