/** `use_original_dst` + `traffic_direction` + the capture metadata -> CaptureRt. */
import type { Listener } from '@minimesh/api';
import { wrappedBool } from './duration.js';
import { join, structToJson, type Errors } from './errors.js';
import type { CaptureRt } from './runtime.js';

/**
 * `metadata.filter_metadata[CAPTURE_METADATA]`: `tcp_ports`, destination ports proxied as TCP;
 * `tcp_clusters`, `{"CLUSTER_IP:PORT": "outbound|PORT||HOST"}`, the service cluster a TCP
 * connection to that address goes through (its TLS, auto mTLS included), or `[{name, weight}]`,
 * one of them per connection by weight (a VirtualService `tcp` route), else PassthroughCluster;
 * `registry_only: true`, TCP to any other destination is closed (BlackHoleCluster) instead.
 */
export const CAPTURE_METADATA = 'minimesh.capture';

export function compileCapture(l: Listener, path: string, errors: Errors): CaptureRt | undefined {
  if (!wrappedBool(l.use_original_dst as { value?: boolean } | undefined, false)) return undefined;
  const dir = l.traffic_direction ?? 'UNSPECIFIED';
  const direction = dir === 'INBOUND' ? 'INBOUND' : 'OUTBOUND';
  const md = l.metadata?.filter_metadata?.[CAPTURE_METADATA];
  const tcpPorts = new Set<number>();
  const tcpClusters = new Map<string, string>();
  const tcpWeightedClusters = new Map<string, { name: string; weight: number }[]>();
  let registryOnly = false;
  if (md) {
    const ro = structToJson(md).registry_only;
    if (ro !== undefined && typeof ro !== 'boolean') errors.add(join(join(join(path, 'metadata.filter_metadata'), CAPTURE_METADATA), 'registry_only'), 'must be true or false');
    registryOnly = ro === true;
    const cp = join(join(join(path, 'metadata.filter_metadata'), CAPTURE_METADATA), 'tcp_clusters');
    const clusters = structToJson(md).tcp_clusters;
    if (clusters !== undefined && (typeof clusters !== 'object' || clusters === null || Array.isArray(clusters))) errors.add(cp, 'must be an object of "ADDRESS:PORT": cluster name');
    else {
      for (const [k, v] of Object.entries((clusters ?? {}) as Record<string, unknown>)) {
        if (Array.isArray(v) && /^.+:\d{1,5}$/.test(k)) {
          const list = weightedList(v);
          if (list === undefined) errors.add(join(cp, k), 'must be a list of {name, weight} (weights whole numbers, their sum above 0)');
          else tcpWeightedClusters.set(k, list);
        } else if (typeof v !== 'string' || v === '' || !/^.+:\d{1,5}$/.test(k)) errors.add(join(cp, k), 'must be "ADDRESS:PORT": a cluster name (or a list of {name, weight})');
        else tcpClusters.set(k, v);
      }
    }
    const mp = join(join(join(path, 'metadata.filter_metadata'), CAPTURE_METADATA), 'tcp_ports');
    const ports = structToJson(md).tcp_ports;
    if (ports !== undefined && !Array.isArray(ports)) errors.add(mp, 'must be a list of port numbers');
    for (const p of Array.isArray(ports) ? ports : []) {
      if (typeof p !== 'number' || !Number.isInteger(p) || p < 1 || p > 65535) errors.add(mp, `not a port: ${JSON.stringify(p)}`);
      else tcpPorts.add(p);
    }
  }
  return { direction, tcpPorts, ...(tcpClusters.size > 0 ? { tcpClusters } : {}), ...(tcpWeightedClusters.size > 0 ? { tcpWeightedClusters } : {}), ...(registryOnly ? { registryOnly } : {}) };
}

/** `[{name, weight}]` with names and whole, non-negative weights summing above 0; undefined otherwise. */
function weightedList(v: unknown[]): { name: string; weight: number }[] | undefined {
  const out: { name: string; weight: number }[] = [];
  for (const e of v) {
    const o = e as { name?: unknown; weight?: unknown } | null;
    if (o === null || typeof o !== 'object' || typeof o.name !== 'string' || o.name === '' || typeof o.weight !== 'number' || !Number.isInteger(o.weight) || o.weight < 0) return undefined;
    out.push({ name: o.name, weight: o.weight });
  }
  return out.some((c) => c.weight > 0) ? out.filter((c) => c.weight > 0) : undefined;
}
