/**
 * Who the control plane scrapes: every connected proxy at its agent port,
 * `http://IP:15020/stats/prometheus` (IP from the node id), and every Pod with a pod IP
 * annotated `prometheus.io/scrape: "true"` (port `prometheus.io/port`, else its first
 * container port, else 80; path `prometheus.io/path`, else /metrics), as Prometheus's
 * kubernetes-pods job does. Deduplicated by URL, the proxy's entry first.
 */
import type { Pod } from '@minimesh/kube';
import { PORTS } from '@minimesh/mesh';
import type { ScrapeTarget } from './scraper.js';

function hostPort(ip: string, port: number | string): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/** `sidecar~IP~POD.NS~…` -> {ip, name: POD.NS}; undefined when it is not Istio's form. */
function fromNodeId(id: string): { ip: string; name: string } | undefined {
  const parts = id.split('~');
  if (parts.length !== 4 || !parts[1]) return undefined;
  return { ip: parts[1], name: parts[2] || parts[1] };
}

export function scrapeTargets(nodeIds: Iterable<string>, pods: readonly Pod[]): ScrapeTarget[] {
  const byUrl = new Map<string, ScrapeTarget>();
  for (const id of nodeIds) {
    const n = fromNodeId(id);
    if (!n) continue;
    const url = `http://${hostPort(n.ip, PORTS.mergedMetrics)}/stats/prometheus`;
    if (!byUrl.has(url)) byUrl.set(url, { id: n.name, url });
  }
  for (const p of pods) {
    const a = (p.metadata as { annotations?: Record<string, string> }).annotations ?? {};
    const ip = p.status?.podIP;
    if (a['prometheus.io/scrape'] !== 'true' || !ip) continue;
    if (['Pending', 'Succeeded', 'Failed'].includes(p.status?.phase ?? '')) continue;
    const port = a['prometheus.io/port'] ?? p.spec?.containers?.flatMap((c) => c.ports ?? [])[0]?.containerPort ?? 80;
    let path = a['prometheus.io/path'] ?? '/metrics';
    if (!path.startsWith('/')) path = `/${path}`;
    const url = `http://${hostPort(ip, port)}${path}`;
    if (!byUrl.has(url)) byUrl.set(url, { id: `${p.metadata.name}.${p.metadata.namespace ?? 'default'}`, url });
  }
  return [...byUrl.values()];
}
