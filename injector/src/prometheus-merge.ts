/**
 * Istio's metrics merge: the pod's own `prometheus.io/*` annotations move into the sidecar's
 * env ISTIO_PROMETHEUS_ANNOTATIONS (JSON `{"scrape","path","port"}`), and the pod is annotated
 * to be scraped on the agent port 15020 at /stats/prometheus, where the proxy serves its own
 * metrics followed by the app's. Not done when the pod says `prometheus.io/scrape: "false"`
 * or `prometheus.istio.io/merge-metrics: "false"`, nor when the port is already 15020 (the pod
 * is injected again). Prometheus reads `prometheus.io/port`, `prometheus.io.port` and
 * `prometheus-io/port` alike: every spelling is read and cleared.
 */
import { PORTS } from '@minimesh/mesh';
import type { Container, Pod } from './kube-types.js';

export const PROMETHEUS_ANNOTATIONS_ENV = 'ISTIO_PROMETHEUS_ANNOTATIONS';
export const MERGE_METRICS_ANNOTATION = 'prometheus.istio.io/merge-metrics';
export const MERGED_METRICS_PATH = '/stats/prometheus';

type Field = 'scrape' | 'port' | 'path';

/** Which of scrape / port / path an annotation key means to Prometheus (its label-name sanitising). */
function fieldOf(key: string): Field | undefined {
  const m = /^prometheus_io_(scrape|port|path)$/.exec(key.replace(/[^a-zA-Z0-9_]/g, '_'));
  return m ? (m[1] as Field) : undefined;
}

/** Go's strconv.ParseBool: undefined when the text is none of its spellings. */
function parseBool(v: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(v)) return false;
  return undefined;
}

/** Whether the merge applies to this pod (its annotations; the mesh default is on). */
export function prometheusMergeEnabled(annotations: Readonly<Record<string, string>>): boolean {
  const merge = annotations[MERGE_METRICS_ANNOTATION];
  if (merge !== undefined && parseBool(merge) === false) return false;
  for (const [k, v] of Object.entries(annotations)) if (fieldOf(k) === 'scrape' && parseBool(v) === false) return false;
  return true;
}

/** Applies the merge to `pod` and its `proxy` container, in place. */
export function applyPrometheusMerge(pod: Pod, proxy: Container): void {
  const a = ((pod.metadata ??= {}).annotations ??= {});
  if (!prometheusMergeEnabled(a)) return;
  const target = String(PORTS.mergedMetrics);
  const original: Record<Field, string> = { scrape: '', path: '', port: '' };
  let any = false;
  for (const [k, v] of Object.entries(a)) {
    const f = fieldOf(k);
    if (f === undefined) continue;
    if (f === 'port' && v === target) return; // already pointing at the agent: injected before
    original[f] = v;
    any = true;
  }
  if (any) {
    proxy.env = [...(proxy.env ?? []), { name: PROMETHEUS_ANNOTATIONS_ENV, value: JSON.stringify({ scrape: original.scrape, path: original.path, port: original.port }) }];
    for (const k of Object.keys(a)) if (fieldOf(k) !== undefined) delete a[k];
  }
  a['prometheus.io/path'] = MERGED_METRICS_PATH;
  a['prometheus.io/port'] = target;
  a['prometheus.io/scrape'] = 'true';
}
