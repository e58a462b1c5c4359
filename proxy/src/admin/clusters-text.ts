/** Envoy's `/clusters` output: `cluster::host:port::stat::value` lines, and its JSON form. */
import type { Proxy } from '../proxy.js';
import type { Cluster } from '../upstream/cluster.js';
import type { UpstreamHost } from '../upstream/upstream-host.js';

/** Envoy's health flags: `healthy`, or each failure as `/failed_...` in Envoy's order. */
function healthFlags(c: Cluster, h: UpstreamHost): string {
  let flags = '';
  if (c.outlier?.isEjected(h) === true) flags += '/failed_outlier_check';
  if (!h.endpoint.healthy) flags += '/failed_eds_health';
  return flags === '' ? 'healthy' : flags;
}

export function renderClusters(proxy: Proxy): string {
  const lines: string[] = [];
  for (const c of proxy.clusters.all()) {
    const n = c.config.name;
    const cb = c.config.circuitBreakers;
    lines.push(`${n}::observability_name::${n}`);
    lines.push(`${n}::default_priority::max_connections::${cb.maxConnections}`);
    lines.push(`${n}::default_priority::max_pending_requests::${cb.maxPendingRequests}`);
    lines.push(`${n}::default_priority::max_requests::${cb.maxRequests}`);
    lines.push(`${n}::default_priority::max_retries::${cb.maxRetries}`);
    if (c.outlier !== undefined) {
      // Success-rate ejection is not run: Envoy prints -1 when it has no figure.
      lines.push(`${n}::outlier::success_rate_average::-1`, `${n}::outlier::success_rate_ejection_threshold::-1`);
      lines.push(`${n}::outlier::local_origin_success_rate_average::-1`, `${n}::outlier::local_origin_success_rate_ejection_threshold::-1`);
    }
    lines.push(`${n}::added_via_api::false`);
    for (const h of listedHosts(c)) {
      const p = `${n}::${h.key}`;
      lines.push(`${p}::cx_active::${h.connections}`);
      lines.push(`${p}::cx_idle::${h.idleCount}`);
      lines.push(`${p}::rq_active::${h.activeRequests}`);
      lines.push(`${p}::rq_error::${h.rqError}`);
      lines.push(`${p}::rq_total::${h.rqTotal}`);
      lines.push(`${p}::hostname::${h.endpoint.hostname}`);
      lines.push(`${p}::health_flags::${healthFlags(c, h)}`);
      lines.push(`${p}::weight::${h.weight}`);
      const l = h.endpoint.locality;
      lines.push(`${p}::region::${l?.region ?? ''}`, `${p}::zone::${l?.zone ?? ''}`, `${p}::sub_zone::${l?.subZone ?? ''}`);
      lines.push(`${p}::priority::${h.priority}`);
    }
  }
  return lines.join('\n') + '\n';
}

export function renderClustersJson(proxy: Proxy): unknown {
  return {
    cluster_statuses: [...proxy.clusters.all()].map((c) => ({
      name: c.config.name,
      added_via_api: false,
      host_statuses: listedHosts(c).map((h) => ({
        address: { socket_address: { address: h.endpoint.address, port_value: h.endpoint.port } },
        stats: [
          { name: 'cx_active', type: 'GAUGE', value: String(h.connections) },
          { name: 'rq_active', type: 'GAUGE', value: String(h.activeRequests) },
          { name: 'rq_error', value: String(h.rqError) },
          { name: 'rq_total', value: String(h.rqTotal) },
        ],
        health_status: { ...(c.outlier?.isEjected(h) === true ? { failed_outlier_check: true } : {}), eds_health_status: h.endpoint.healthy ? 'HEALTHY' : 'UNHEALTHY' },
        weight: h.weight,
        hostname: h.endpoint.hostname,
        ...(h.endpoint.locality !== undefined ? { locality: { region: h.endpoint.locality.region, zone: h.endpoint.locality.zone, sub_zone: h.endpoint.locality.subZone } } : {}),
        ...(h.priority > 0 ? { priority: h.priority } : {}),
      })),
    })),
  };
}

/** The configured hosts, and an ORIGINAL_DST cluster's hosts made per destination (as Envoy lists them). */
function listedHosts(c: Cluster): UpstreamHost[] {
  return c.originalDst === undefined ? c.hosts : [...c.hosts, ...c.originalDst.all()];
}
