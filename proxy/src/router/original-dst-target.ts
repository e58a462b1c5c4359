/**
 * Where a request on an ORIGINAL_DST cluster goes: the captured connection's original
 * destination when there is one, else the request's authority (the forward proxy: the client
 * named its destination in the Host or the absolute URI). An IP address is used as it is; a
 * name must be resolved first (as the client would have done before dialling).
 */
import { isIP } from 'node:net';
import type { Cluster } from '../upstream/cluster.js';
import type { UpstreamHost } from '../upstream/upstream-host.js';
import { parseDestination } from '../upstream/original-dst-hosts.js';

export type OriginalDstTarget =
  | { readonly kind: 'host'; readonly host: UpstreamHost }
  | { readonly kind: 'resolve'; readonly name: string; readonly port: number }
  | { readonly kind: 'none' };

/** `resolved`: the address a previous resolution gave the authority's name. */
export function originalDstTarget(cluster: Cluster, originalDst: string | undefined, authority: string, resolved: string | undefined): OriginalDstTarget {
  const hosts = cluster.originalDst!;
  const d = parseDestination(originalDst ?? authority, 80);
  if (d === undefined) return { kind: 'none' };
  if (isIP(d.host) !== 0) return { kind: 'host', host: hosts.get(d.host, d.port) };
  if (originalDst !== undefined) return { kind: 'none' };
  if (resolved !== undefined) return { kind: 'host', host: hosts.get(resolved, d.port) };
  return { kind: 'resolve', name: d.host, port: d.port };
}

/** Resolves an authority's name with the cluster's resolver: its first address, or undefined. */
export async function resolveDestination(cluster: Cluster, name: string): Promise<string | undefined> {
  if (cluster.resolver === undefined) return undefined;
  try {
    return (await cluster.resolver.resolve(name, 'V4_PREFERRED'))[0];
  } catch {
    return undefined;
  }
}
