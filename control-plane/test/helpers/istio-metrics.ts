/**
 * Istio-standard metric series for tests, shaped like the echo lab: workload client-deployment
 * (app client) in namespace client calling echo-service.client.svc.cluster.local, served by
 * echo-deployment (app echo); both sidecars report (reporter="source" and "destination").
 */
import type { Labels, Sample } from '../../src/telemetry/exposition-parser.js';
import type { MetricStore } from '../../src/telemetry/metric-store.js';

export const ENVOY_BUCKETS = [0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000];

export interface Peer {
  readonly workload: string;
  readonly namespace: string;
  readonly app: string;
}

export const CLIENT: Peer = { workload: 'client-deployment', namespace: 'client', app: 'client' };
export const ECHO: Peer = { workload: 'echo-deployment', namespace: 'client', app: 'echo' };
export const ECHO_SERVICE = { name: 'echo-service', namespace: 'client' };
export const UNKNOWN_PEER: Peer = { workload: 'unknown', namespace: 'unknown', app: 'unknown' };

/** The labels a sidecar puts on istio_requests_total (without response_code for TCP). */
export function requestLabels(
  reporter: 'source' | 'destination',
  o: { src?: Peer; dst?: Peer; svc?: { name: string; namespace: string }; code?: string; csp?: string; tcp?: boolean; protocol?: string } = {},
): Record<string, string> {
  const src = o.src ?? CLIENT;
  const dst = o.dst ?? ECHO;
  const svc = o.svc ?? ECHO_SERVICE;
  const l: Record<string, string> = {
    reporter,
    source_workload: src.workload,
    source_canonical_service: src.app,
    source_canonical_revision: 'latest',
    source_workload_namespace: src.namespace,
    source_principal: 'unknown',
    source_app: src.app,
    source_version: 'unknown',
    source_cluster: 'Kubernetes',
    destination_workload: dst.workload,
    destination_workload_namespace: dst.namespace,
    destination_principal: 'unknown',
    destination_app: dst.app,
    destination_version: 'unknown',
    destination_service: `${svc.name}.${svc.namespace}.svc.cluster.local`,
    destination_canonical_service: dst.app,
    destination_canonical_revision: 'latest',
    destination_service_name: svc.name,
    destination_service_namespace: svc.namespace,
    destination_cluster: 'Kubernetes',
    request_protocol: o.tcp ? 'tcp' : (o.protocol ?? 'http'),
    response_flags: '-',
    connection_security_policy: o.csp ?? (reporter === 'source' ? 'unknown' : 'none'),
  };
  if (!o.tcp) {
    l.response_code = o.code ?? '200';
    l.grpc_response_status = '';
  }
  return l;
}

function esc(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** Samples as exposition text (with # TYPE lines and an envoy_ line to ignore). */
export function exposition(samples: readonly Sample[]): string {
  const lines = ['# TYPE istio_build gauge', 'istio_build{component="proxy",tag="1.0"} 1', 'envoy_server_live 1'];
  for (const s of samples) {
    const labels = Object.entries(s.labels)
      .map(([k, v]) => `${k}="${esc(v)}"`)
      .join(',');
    lines.push(`${s.name}{${labels}} ${s.value}`);
  }
  return `${lines.join('\n')}\n`;
}

/** A histogram's bucket, sum and count samples for `count` observations with the given values. */
export function histogram(name: string, labels: Labels, values: readonly number[]): Sample[] {
  const out: Sample[] = [];
  for (const le of ENVOY_BUCKETS) out.push({ name: `${name}_bucket`, labels: { ...labels, le: String(le) }, value: values.filter((v) => v <= le).length });
  out.push({ name: `${name}_bucket`, labels: { ...labels, le: '+Inf' }, value: values.length });
  out.push({ name: `${name}_sum`, labels, value: values.reduce((a, b) => a + b, 0) });
  out.push({ name: `${name}_count`, labels, value: values.length });
  return out;
}

/**
 * Fills the store so that `rate(...[60s])` at `nowSec` is exactly `perSec` for each series: a
 * counter starting from 0 at now-60 s, scraped every 10 s from now-50 s to now.
 */
export function fillLinear(store: MetricStore, target: string, series: readonly { name: string; labels: Labels; perSec: number }[], nowSec: number): void {
  for (let t = nowSec - 50; t <= nowSec; t += 10) {
    store.ingest(
      target,
      series.map((s) => ({ name: s.name, labels: s.labels, value: s.perSec * (t - (nowSec - 60)) })),
      t * 1000,
    );
  }
}
