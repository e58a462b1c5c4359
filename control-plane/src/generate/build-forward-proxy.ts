/**
 * One route configuration, `virtualOutbound` (the name of Istio's 15001 listener), holding the
 * virtual hosts of every service port: the local mesh's forward proxy, and the captured
 * `virtualOutbound` listener of `captureMode` (build-capture.ts), where Host carries the port
 * whenever it is not the scheme's default. In the local mesh the sidecar works as a plain HTTP
 * forward proxy. Requests carry absolute-form targets
 * (`GET http://echo-service.client.svc.cluster.local/`) and are routed by their authority.
 * A name claimed by several ports goes to the lowest port (ports are visited in order), so a
 * bare host name means the service's first HTTP port, as `host:port` means that port.
 */
import type { JsonObject } from './envoy-json.js';

export const FORWARD_PROXY_ROUTE_NAME = 'virtualOutbound';

/**
 * Merges per-port sidecar route configurations (sorted by port) into one; `connectHosts`
 * (the TCP ports' CONNECT virtual hosts, build-tcp.ts) come after them.
 */
export function buildForwardProxyRouteConfig(perPort: readonly JsonObject[], connectHosts: readonly JsonObject[] = []): JsonObject {
  const used = new Set<string>();
  const vhosts: JsonObject[] = [];
  for (const list of [...perPort.map((rc) => (rc.virtual_hosts ?? []) as JsonObject[]), connectHosts]) {
    for (const vh of list) {
      const domains = (vh.domains as string[]).filter((d) => !used.has(d));
      if (domains.length === 0) continue;
      for (const d of domains) used.add(d);
      vhosts.push({ ...vh, domains });
    }
  }
  return { name: FORWARD_PROXY_ROUTE_NAME, virtual_hosts: vhosts, validate_clusters: false };
}
