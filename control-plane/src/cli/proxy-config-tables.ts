/**
 * `minimesh proxy-config` tables, with istioctl's headers:
 *   clusters   SERVICE FQDN  PORT  SUBSET  DIRECTION  TYPE  DESTINATION RULE
 *   listeners  ADDRESSES  PORT  TYPE
 *   routes     NAME  VHOST NAME  DOMAINS  MATCH  VIRTUAL SERVICE
 *   endpoints  ENDPOINT  STATUS  OUTLIER CHECK  CLUSTER
 */
import { renderTable } from '@minimesh/mesh';
import { parseClusterName } from '../generate/naming.js';
import { connectionManagers, field, readConfigDump, type Json } from './config-dump-reader.js';

export type ProxyConfigKind = 'clusters' | 'listeners' | 'routes' | 'endpoints';
export const PROXY_CONFIG_KINDS: readonly ProxyConfigKind[] = ['clusters', 'listeners', 'routes', 'endpoints'];

const table = (headers: readonly string[], rows: string[][]): string => renderTable(headers, rows, { left: 'all', rule: false, gap: 5 });
const list = (v: unknown): Json[] => (Array.isArray(v) ? (v as Json[]) : []);
const str = (v: unknown, dflt = '-'): string => (v === undefined || v === null || v === '' ? dflt : String(v));

/** `/apis/networking.istio.io/v1/namespaces/NS/KIND/NAME` (Istio's metadata) -> `NAME.NS`. */
function istioConfigRef(metadata: unknown): string | undefined {
  const cfg = field(field(field(metadata, 'filter_metadata'), 'istio'), 'config');
  const m = typeof cfg === 'string' ? /\/namespaces\/([^/]+)\/[^/]+\/([^/]+)$/.exec(cfg) : null;
  return m ? `${m[2]}.${m[1]}` : undefined;
}

export function clustersTable(clusters: readonly Json[]): string {
  const rows = [...clusters]
    .sort((a, b) => String(a.name).localeCompare(String(b.name)))
    .map((c) => {
      const name = String(c.name);
      const k = parseClusterName(name);
      const type = str(field(c, 'type'), field(c, 'cluster_type') ? 'CUSTOM' : 'STATIC');
      const dr = str(istioConfigRef(field(c, 'metadata')));
      if (!k) return [name, '-', '-', '-', type, dr];
      return [k.host ?? '', String(k.port), str(k.subset), k.direction, type, dr];
    });
  return table(['SERVICE FQDN', 'PORT', 'SUBSET', 'DIRECTION', 'TYPE', 'DESTINATION RULE'], rows);
}

export function listenersTable(listeners: readonly Json[]): string {
  const rows = listeners
    .map((l) => {
      const sa = field(field(l, 'address'), 'socket_address');
      const type = connectionManagers(l).length > 0 ? 'HTTP' : 'TCP';
      return [str(field(sa, 'address')), str(field(sa, 'port_value')), type];
    })
    .sort((a, b) => Number(a[1]) - Number(b[1]) || a[0].localeCompare(b[0]));
  return table(['ADDRESSES', 'PORT', 'TYPE'], rows);
}

/** istioctl's domain summary: the first name without a port, `+ N more...` for the others. */
export function describeDomains(domains: readonly string[]): string {
  const names = domains.filter((d) => !/:(\d+|\*)$/.test(d));
  const shown = names.length > 0 ? names : [...domains];
  if (shown.length === 0) return '-';
  return shown.length === 1 ? shown[0] : `${shown[0]} + ${shown.length - 1} more...`;
}

export function describeMatch(match: unknown): string {
  const prefix = field(match, 'prefix');
  const path = field(match, 'path');
  const regex = field(field(match, 'safe_regex'), 'regex');
  let s = typeof prefix === 'string' ? `${prefix}*` : typeof path === 'string' ? path : typeof regex === 'string' ? regex : '/*';
  const headers = list(field(match, 'headers')).map((h) => String(field(h, 'name')));
  if (headers.length > 0) s += ` (headers ${headers.join(', ')})`;
  return s;
}

/** Route configurations: RDS ones, then those inline in listeners (inbound). */
export function routesTable(routes: readonly Json[], listeners: readonly Json[] = []): string {
  const inline = listeners.flatMap((l) => connectionManagers(l).map((hcm) => field(hcm, 'route_config') as Json | undefined)).filter((r): r is Json => r !== undefined);
  const rows: string[][] = [];
  for (const rc of [...[...routes].sort((a, b) => String(a.name).localeCompare(String(b.name))), ...inline]) {
    for (const vh of list(field(rc, 'virtual_hosts'))) {
      const domains = describeDomains(list(field(vh, 'domains')) as unknown as string[]);
      const rs = list(field(vh, 'routes'));
      if (rs.length === 0) rows.push([str(rc.name), str(vh.name), domains, '-', '-']);
      for (const r of rs) rows.push([str(rc.name), str(vh.name), domains, describeMatch(field(r, 'match')), str(istioConfigRef(field(r, 'metadata')))]);
    }
  }
  return table(['NAME', 'VHOST NAME', 'DOMAINS', 'MATCH', 'VIRTUAL SERVICE'], rows);
}

/** EDS assignments, then the endpoints of clusters that carry their own (`load_assignment`). */
export function endpointsTable(endpoints: readonly Json[], clusters: readonly Json[] = []): string {
  const assignments = [...endpoints, ...clusters.map((c) => field(c, 'load_assignment') as Json | undefined).filter((a): a is Json => a !== undefined)];
  const rows: string[][] = [];
  for (const cla of assignments) {
    const cluster = str(field(cla, 'cluster_name'));
    for (const group of list(field(cla, 'endpoints')))
      for (const lb of list(field(group, 'lb_endpoints'))) {
        const sa = field(field(field(lb, 'endpoint'), 'address'), 'socket_address');
        rows.push([`${str(field(sa, 'address'))}:${str(field(sa, 'port_value'))}`, str(field(lb, 'health_status'), 'HEALTHY'), 'OK', cluster]);
      }
  }
  rows.sort((a, b) => a[3].localeCompare(b[3]) || a[0].localeCompare(b[0], 'en', { numeric: true }));
  return table(['ENDPOINT', 'STATUS', 'OUTLIER CHECK', 'CLUSTER'], rows);
}

/**
 * The endpoints as a proxy holds them (its admin `/clusters?format=json`), as istioctl reads
 * them: each host's EDS health, and FAILED when outlier detection has ejected it.
 */
export function liveEndpointsTable(clusters: unknown): string {
  const rows: string[][] = [];
  for (const c of list(field(clusters, 'cluster_statuses'))) {
    const name = str(field(c, 'name'));
    for (const h of list(field(c, 'host_statuses'))) {
      const sa = field(field(h, 'address'), 'socket_address');
      const health = field(h, 'health_status');
      rows.push([`${str(field(sa, 'address'))}:${str(field(sa, 'port_value'))}`, str(field(health, 'eds_health_status'), 'HEALTHY'), field(health, 'failed_outlier_check') === true ? 'FAILED' : 'OK', name]);
    }
  }
  rows.sort((a, b) => a[3].localeCompare(b[3]) || a[0].localeCompare(b[0], 'en', { numeric: true }));
  return table(['ENDPOINT', 'STATUS', 'OUTLIER CHECK', 'CLUSTER'], rows);
}

export function proxyConfigTable(kind: ProxyConfigKind, dump: unknown): string {
  const d = readConfigDump(dump);
  switch (kind) {
    case 'clusters':
      return clustersTable(d.clusters);
    case 'listeners':
      return listenersTable(d.listeners);
    case 'routes':
      return routesTable(d.routes, d.listeners);
    case 'endpoints':
      return endpointsTable(d.endpoints, d.clusters);
  }
}

/** `-o json`: the raw resources of that kind. */
export function proxyConfigJson(kind: ProxyConfigKind, dump: unknown): Json[] {
  const d = readConfigDump(dump);
  return kind === 'clusters' ? d.clusters : kind === 'listeners' ? d.listeners : kind === 'routes' ? d.routes : d.endpoints;
}
