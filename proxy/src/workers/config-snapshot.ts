/**
 * The config the primary of `--concurrency N` hands its workers, in the form it came in (a
 * bootstrap's text, or the xDS resources' bytes), and the worker's side: compiling it with
 * the compilers the single process uses (packages/config), to a RuntimeConfig for the same
 * `Proxy.apply()`. An xDS resource whose bytes did not change keeps its compiled object, so a
 * push that leaves a cluster alone keeps that cluster's connection pools in the worker too.
 */
import { parseBootstrap } from '@minimesh/api';
import { compileBootstrap, formatConfigErrors, linkXdsConfig, type ClusterRt, type EndpointRt, type ListenerRt, type NodeInfo, type RouteConfigRt, type RuntimeConfig } from '@minimesh/config';
import { decodeResources, type ResourceEntry } from '@minimesh/xds/client/decode-resources';
import { CDS, EDS, LDS, RDS, type XdsTypeUrl } from '@minimesh/xds/type-urls';
import type { XdsDump } from '@minimesh/xds/client/xds-client';

/** The four config types a worker compiles (secrets travel on their own). */
const TYPES = [LDS, RDS, CDS, EDS] as const;
type ConfigType = (typeof TYPES)[number];

export type ConfigSnapshot =
  | { readonly kind: 'bootstrap'; readonly file: string; readonly text: string }
  | {
      readonly kind: 'xds';
      readonly node: NodeInfo;
      /** Per type: the response's version and each resource's bytes. */
      readonly types: Partial<Record<ConfigType, { readonly version: string; readonly resources: readonly Uint8Array[] }>>;
    };

/** The snapshot of an xDS config the primary's client is installing. */
export function xdsSnapshot(dump: XdsDump, node: NodeInfo): ConfigSnapshot {
  const types: Partial<Record<ConfigType, { version: string; resources: Uint8Array[] }>> = {};
  for (const t of TYPES) {
    const held = dump[t];
    if (held !== undefined) types[t] = { version: held.version, resources: [...held.entries.values()].map((e) => e.bytes) };
  }
  return { kind: 'xds', node, types };
}

/** A worker's compiler: keeps the entries it compiled last, by type. */
export class SnapshotCompiler {
  private held = new Map<XdsTypeUrl, ReadonlyMap<string, ResourceEntry>>();

  /** The config of a snapshot; throws an Error naming every problem. */
  compile(s: ConfigSnapshot): RuntimeConfig {
    if (s.kind === 'bootstrap') {
      const parsed = parseBootstrap(s.text, s.file);
      if (!parsed.ok) throw new Error(`invalid bootstrap ${s.file}:\n${formatConfigErrors(parsed.errors)}`);
      const compiled = compileBootstrap(parsed.value);
      if (!compiled.ok) throw new Error(`invalid bootstrap ${s.file}:\n${formatConfigErrors(compiled.errors)}`);
      return compiled.value;
    }
    const next = new Map<XdsTypeUrl, ReadonlyMap<string, ResourceEntry>>();
    for (const t of TYPES) {
      const got = s.types[t];
      if (got === undefined) continue;
      const d = decodeResources(t, got.resources.map((value) => ({ type_url: t, value })), got.version, this.held.get(t));
      if (!d.ok) throw new Error(formatConfigErrors(d.errors));
      next.set(t, d.entries);
    }
    const compiled = <T>(t: XdsTypeUrl): Map<string, T> => new Map([...(next.get(t)?.values() ?? [])].map((e) => [e.name, e.compiled as T]));
    const linked = linkXdsConfig(
      { listeners: compiled<ListenerRt>(LDS), routes: compiled<RouteConfigRt>(RDS), clusters: compiled<ClusterRt>(CDS), endpoints: compiled<readonly EndpointRt[]>(EDS) },
      { version: s.types[LDS]?.version ?? '', node: s.node },
    );
    if (!linked.ok) throw new Error(formatConfigErrors(linked.errors));
    this.held = next;
    return linked.value;
  }
}
