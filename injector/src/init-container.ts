/**
 * `istio-init`: runs `minimesh iptables` with the flags Istio's init container gets, built
 * from the pod's `traffic.sidecar.istio.io/*` annotations. Needs NET_ADMIN and NET_RAW and runs
 * as root, once, before every other container.
 */
import { PORTS } from '@minimesh/mesh';
import { ANNOTATIONS, INIT_CONTAINER_NAME } from './injection-keys.js';
import type { InjectOptions } from './inject-options.js';
import type { Container, Pod } from './kube-types.js';
import { IptablesUsageError, parseIptablesArgs } from './iptables/capture-options.js';

const DEFAULT_EXCLUDED_INBOUND = [PORTS.prometheus, PORTS.health, PORTS.mergedMetrics];

function csv(s: string | undefined): string[] {
  return (s ?? '')
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x !== '');
}

/** The `minimesh iptables` arguments for a pod (without the program name). */
export function buildIptablesArgs(pod: Pod, o: InjectOptions): string[] {
  const a = pod.metadata?.annotations ?? {};
  const mode = (a[ANNOTATIONS.interceptionMode] ?? 'REDIRECT').toUpperCase();
  const include = a[ANNOTATIONS.includeOutboundIPRanges];
  const inbound = a[ANNOTATIONS.includeInboundPorts];
  // The proxy's own ports are never captured inbound, whatever the annotation says.
  const excludedInbound = [...new Set([...DEFAULT_EXCLUDED_INBOUND.map(String), ...csv(a[ANNOTATIONS.excludeInboundPorts])])];
  const args = [
    '-p', String(PORTS.outboundCapture),
    '-z', String(PORTS.inboundCapture),
    '-u', String(o.proxyUid),
    '-m', mode,
    '-i', include === undefined ? '*' : csv(include).join(',') || (include.trim() === '*' ? '*' : ''),
    '-x', csv(a[ANNOTATIONS.excludeOutboundIPRanges]).join(','),
    '-b', inbound === undefined ? '*' : inbound.trim() === '*' ? '*' : csv(inbound).join(','),
    '-d', excludedInbound.join(','),
  ];
  const opt = (flag: string, key: string): void => {
    const v = csv(a[key]);
    if (v.length > 0) args.push(flag, v.join(','));
  };
  opt('-q', ANNOTATIONS.includeOutboundPorts);
  opt('-o', ANNOTATIONS.excludeOutboundPorts);
  opt('-c', ANNOTATIONS.excludeInterfaces);
  checkIptablesArgs(args);
  return args;
}

/** The annotation each flag of `minimesh iptables` comes from, for error messages. */
const FLAG_ANNOTATION: Record<string, string> = {
  '-m': ANNOTATIONS.interceptionMode,
  '-i': ANNOTATIONS.includeOutboundIPRanges,
  '-x': ANNOTATIONS.excludeOutboundIPRanges,
  '-b': ANNOTATIONS.includeInboundPorts,
  '-d': ANNOTATIONS.excludeInboundPorts,
  '-q': ANNOTATIONS.includeOutboundPorts,
  '-o': ANNOTATIONS.excludeOutboundPorts,
  '-c': ANNOTATIONS.excludeInterfaces,
};

/**
 * A pod whose `traffic.sidecar.istio.io/*` annotations the init program would refuse: Istio
 * rejects such a pod at admission rather than letting it hang in Init:Error.
 */
export class InvalidPodAnnotationError extends Error {
  override name = 'InvalidPodAnnotationError';
}

/** Runs the init container's arguments through the init program's own parser. */
function checkIptablesArgs(args: string[]): void {
  try {
    parseIptablesArgs(args);
  } catch (e) {
    if (!(e instanceof IptablesUsageError)) throw e;
    const flag = /^(-[a-z])\b/.exec(e.message)?.[1];
    const annotation = flag !== undefined ? FLAG_ANNOTATION[flag] : undefined;
    throw new InvalidPodAnnotationError(annotation !== undefined ? `annotation ${annotation}: ${e.message.replace(/^-[a-z]:\s*/, '')}` : e.message);
  }
}

export const SIDECAR_RESOURCES = {
  limits: { cpu: '2', memory: '1Gi' },
  requests: { cpu: '100m', memory: '128Mi' },
} as const;

export function buildInitContainer(pod: Pod, o: InjectOptions): Container {
  const c: Container = {
    name: INIT_CONTAINER_NAME,
    image: o.image,
    ...(o.imagePullPolicy ? { imagePullPolicy: o.imagePullPolicy } : {}),
    args: ['iptables', ...buildIptablesArgs(pod, o)],
    resources: structuredClone(SIDECAR_RESOURCES),
    securityContext: {
      allowPrivilegeEscalation: false,
      capabilities: { add: ['NET_ADMIN', 'NET_RAW'], drop: ['ALL'] },
      privileged: false,
      readOnlyRootFilesystem: false,
      runAsGroup: 0,
      runAsNonRoot: false,
      runAsUser: 0,
    },
  };
  return c;
}
