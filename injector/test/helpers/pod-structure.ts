/**
 * The STRUCTURE of an injected pod, the part that must match Istio's: which init containers
 * and containers, in which order, their ports, security contexts, probes, restart policy,
 * (httpGet: path and port), the annotation and label keys. Images, args values, env and volumes are ours.
 */
import type { Container, ObjectMeta, PodSpec, Probe } from '../../src/kube-types.js';

const SIDECARS = new Set(['istio-init', 'istio-proxy']);

function probeShape(p: Probe | undefined): unknown {
  if (!p) return undefined;
  const kind = p.httpGet ? 'httpGet' : p.tcpSocket ? 'tcpSocket' : p.exec ? 'exec' : p.grpc ? 'grpc' : 'other';
  const shape: Record<string, unknown> = { kind, failureThreshold: p.failureThreshold, periodSeconds: p.periodSeconds, timeoutSeconds: p.timeoutSeconds };
  // httpGet: where the kubelet sends it (for app probes, Istio's rewrite to :15020/app-health/...).
  if (p.httpGet) Object.assign(shape, { path: p.httpGet.path, port: p.httpGet.port });
  return shape;
}

function containerShape(c: Container): Record<string, unknown> {
  const sidecar = SIDECARS.has(c.name);
  const s: Record<string, unknown> = {
    name: c.name,
    ports: (c.ports ?? []).map((p) => `${p.containerPort}/${p.name ?? ''}`),
    restartPolicy: c.restartPolicy,
    securityContext: c.securityContext,
    readinessProbe: probeShape(c.readinessProbe),
    livenessProbe: probeShape(c.livenessProbe),
    startupProbe: probeShape(c.startupProbe),
  };
  if (sidecar) {
    s.resourceRequests = (c.resources as { requests?: unknown } | undefined)?.requests;
  }
  if (c.name === 'istio-init') s.iptablesFlags = (c.args ?? []).filter((a) => /^-[a-z]$/.test(a));
  return s;
}

export interface PodStructure {
  initContainers: Record<string, unknown>[];
  containers: Record<string, unknown>[];
  annotationKeys: string[];
  labelKeys: string[];
  statusContainers: unknown;
}

export function podStructure(holder: { metadata?: ObjectMeta; spec?: PodSpec }): PodStructure {
  const m = holder.metadata ?? {};
  const status = m.annotations?.['sidecar.istio.io/status'];
  const st = status ? (JSON.parse(status) as { initContainers: unknown; containers: unknown }) : undefined;
  return {
    initContainers: (holder.spec?.initContainers ?? []).map(containerShape),
    containers: (holder.spec?.containers ?? []).map(containerShape),
    annotationKeys: Object.keys(m.annotations ?? {}).sort(),
    labelKeys: Object.keys(m.labels ?? {}).sort(),
    statusContainers: st ? { initContainers: st.initContainers, containers: st.containers } : undefined,
  };
}
