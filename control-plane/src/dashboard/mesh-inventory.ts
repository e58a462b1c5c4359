/**
 * What the dashboard knows from the mesh model: its namespaces, and per workload (deployment)
 * and per service the pods and how many of them carry a sidecar. A pod's workload is its
 * owner's name as Istio derives it (a ReplicaSet's name without its hash, else the owner's
 * name; without owners, the pod name without the two generated suffixes). A pod is meshed when
 * it carries `sidecar.istio.io/status`, an `istio-proxy` container, or a proxy connected
 * from its IP.
 */
import type { Pod } from '@minimesh/kube';
import type { MeshModel } from '../model/mesh-model.js';
import type { InventoryEntry } from '../telemetry/stat.js';

const nsOf = (p: Pod): string => p.metadata.namespace ?? 'default';

export function podWorkloadName(p: Pod): string {
  const labels = p.metadata.labels ?? {};
  if (labels['service.istio.io/workload-name']) return labels['service.istio.io/workload-name'];
  const owner = (p.metadata as { ownerReferences?: { kind?: string; name?: string; controller?: boolean }[] }).ownerReferences?.find((o) => o.controller !== false);
  if (owner?.name) return owner.kind === 'ReplicaSet' ? owner.name.replace(/-[a-z0-9]+$/, '') : owner.name;
  const m = /^(.+)-[a-z0-9]+-[a-z0-9]+$/.exec(p.metadata.name);
  return m ? m[1] : p.metadata.name;
}

export function hasSidecar(p: Pod, connectedIps: ReadonlySet<string>): boolean {
  const annotations = (p.metadata as { annotations?: Record<string, string> }).annotations ?? {};
  if (annotations['sidecar.istio.io/status']) return true;
  const containers = [...(p.spec?.containers ?? []), ...((p.spec as { initContainers?: { name: string }[] } | undefined)?.initContainers ?? [])];
  if (containers.some((c) => c.name === 'istio-proxy')) return true;
  const ip = p.status?.podIP;
  return ip !== undefined && connectedIps.has(ip);
}

export function workloadInventory(model: MeshModel, connectedIps: ReadonlySet<string>): InventoryEntry[] {
  const by = new Map<string, { namespace: string; name: string; pods: number; meshed: number }>();
  for (const p of model.pods) {
    const name = podWorkloadName(p);
    const k = `${nsOf(p)}/${name}`;
    let e = by.get(k);
    if (!e) by.set(k, (e = { namespace: nsOf(p), name, pods: 0, meshed: 0 }));
    e.pods++;
    if (hasSidecar(p, connectedIps)) e.meshed++;
  }
  return [...by.values()];
}

export function serviceInventory(model: MeshModel, connectedIps: ReadonlySet<string>): InventoryEntry[] {
  return model.services
    .filter((s) => s.origin === 'Service')
    .map((s) => {
      const selector = s.selector ?? {};
      const pods = Object.keys(selector).length
        ? model.pods.filter((p) => nsOf(p) === s.namespace && Object.entries(selector).every(([k, v]) => p.metadata.labels?.[k] === v))
        : [];
      return { namespace: s.namespace, name: s.name, pods: pods.length, meshed: pods.filter((p) => hasSidecar(p, connectedIps)).length };
    });
}

/** Every namespace the model mentions, sorted. */
export function modelNamespaces(model: MeshModel): string[] {
  const names = new Set<string>(model.namespaces.keys());
  for (const s of model.services) if (s.origin === 'Service') names.add(s.namespace);
  for (const w of model.workloads) names.add(w.namespace);
  for (const p of model.pods) names.add(nsOf(p));
  return [...names].sort();
}
