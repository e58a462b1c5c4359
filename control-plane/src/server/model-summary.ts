/** `/debug/model`: the mesh model as JSON (maps flattened), for people debugging translation. */
import type { MeshModel } from '../model/mesh-model.js';

export function modelSummary(m: MeshModel, pushes: number): unknown {
  const ref = (r: { metadata: { name: string; namespace?: string } }): string => `${r.metadata.namespace ?? 'default'}/${r.metadata.name}`;
  return {
    pushes,
    domainSuffix: m.domainSuffix,
    namespaces: [...m.namespaces.keys()],
    services: m.services.map((s) => ({
      hostname: s.hostname,
      origin: s.origin,
      clusterIP: s.clusterIP,
      ports: s.ports,
      endpoints: Object.fromEntries([...s.endpoints.entries()].map(([port, eps]) => [port, eps.map((e) => `${e.address}:${e.port}${e.ready ? '' : ' (not ready)'}`)])),
    })),
    workloads: m.workloads.map((w) => ({ name: `${w.name}.${w.namespace}`, address: w.address, labels: w.labels })),
    virtualServices: m.virtualServices.map(ref),
    destinationRules: m.destinationRules.map(ref),
    gateways: m.gateways.map(ref),
    serviceEntries: m.serviceEntries.map(ref),
  };
}
