/**
 * Istio's app probe rewrite (pkg/kube/inject/app_probe.go): under STRICT mTLS the kubelet's
 * plain-text probes cannot reach the app through the sidecar, so each container's `httpGet`
 * liveness / readiness / startup probe is pointed at the proxy's agent port
 * (`:15020/app-health/<container>/livez|readyz|startupz`) and the original goes to the proxy in
 * env `ISTIO_KUBE_APP_PROBERS` (JSON, keys sorted, named ports resolved to numbers), which
 * performs it from inside the pod. Only httpGet probes are rewritten: tcpSocket, grpc and exec
 * probes are left as they are. `sidecar.istio.io/rewriteAppHTTPProbers: "false"` opts out.
 */
import { PORTS } from '@minimesh/mesh';
import { ANNOTATIONS, INIT_CONTAINER_NAME, PROXY_CONTAINER_NAME } from './injection-keys.js';
import type { Container, Pod, Probe } from './kube-types.js';

export const APP_PROBERS_ENV = 'ISTIO_KUBE_APP_PROBERS';

/** One original probe as the proxy performs it (Istio's `Prober`). */
export interface AppProber {
  httpGet: { path?: string; port: number; host?: string; scheme?: string; httpHeaders?: unknown };
  timeoutSeconds?: number;
}

const KINDS = [
  ['livenessProbe', 'livez'],
  ['readinessProbe', 'readyz'],
  ['startupProbe', 'startupz'],
] as const;

export function appProbePath(container: string, kind: 'livez' | 'readyz' | 'startupz'): string {
  return `/app-health/${container}/${kind}`;
}

/** A named port resolved against the container's ports, as Istio does; undefined when unknown. */
function resolvePort(c: Container, port: number | string): number | undefined {
  if (typeof port === 'number') return port;
  if (/^\d+$/.test(port)) return Number(port);
  return c.ports?.find((p) => p.name === port)?.containerPort;
}

export function rewritesProbes(pod: Pod): boolean {
  return pod.metadata?.annotations?.[ANNOTATIONS.rewriteAppHTTPProbers]?.toLowerCase() !== 'false';
}

/**
 * Rewrites the httpGet probes of `pod`'s app containers (and init containers) in place and
 * returns the originals keyed by their new path; empty when there is nothing to rewrite or
 * the pod opted out.
 */
export function rewriteAppProbes(pod: Pod): Record<string, AppProber> {
  const probers: Record<string, AppProber> = {};
  if (!rewritesProbes(pod)) return probers;
  const containers = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])];
  for (const c of containers) {
    if (c.name === PROXY_CONTAINER_NAME || c.name === INIT_CONTAINER_NAME) continue;
    for (const [field, kind] of KINDS) {
      const probe: Probe | undefined = c[field];
      const get = probe?.httpGet;
      if (!probe || !get) continue;
      const port = resolvePort(c, get.port);
      if (port === undefined) continue; // Kubernetes rejects such a pod anyway: leave it be.
      const path = appProbePath(c.name, kind);
      // Istio's JSON field order: path, port, host, scheme, httpHeaders (unset ones omitted).
      const g = get as Record<string, unknown>;
      const httpGet = Object.fromEntries(
        (['path', 'port', 'host', 'scheme', 'httpHeaders'] as const).map((k) => [k, k === 'port' ? port : g[k]]).filter(([, v]) => v !== undefined && v !== ''),
      ) as AppProber['httpGet'];
      const original: AppProber = { httpGet };
      if (probe.timeoutSeconds !== undefined) original.timeoutSeconds = probe.timeoutSeconds;
      probers[path] = original;
      // Kubelet -> HTTP -> proxy (:15020) -> the original scheme -> app.
      c[field] = { ...probe, httpGet: { path, port: PORTS.mergedMetrics } };
    }
  }
  return probers;
}

/** The env value: JSON with sorted keys, as Go marshals Istio's map. */
export function formatAppProbers(probers: Record<string, AppProber>): string {
  return JSON.stringify(Object.fromEntries(Object.keys(probers).sort().map((k) => [k, probers[k]])));
}
