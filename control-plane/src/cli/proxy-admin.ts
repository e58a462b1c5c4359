/**
 * A proxy's own admin port (15000), found through the control plane: its node metadata there
 * names the pod (POD_NAME, NAMESPACE) and its IP (INSTANCE_IPS). In a cluster (the control
 * plane was port-forwarded) the admin port is port-forwarded to that pod, as istioctl does;
 * otherwise (the local mesh) it is the pod's IP, where the sidecar's admin listens.
 */
import { PORTS } from '@minimesh/mesh';
import { getJson } from './debug-client.js';
import { field, type Json } from './config-dump-reader.js';
import type { KubeFlags, Target } from './control-plane-target.js';
import { loadKubeConfig, startForward } from './port-forward.js';

export interface ProxyAdmin {
  readonly hostPort: string;
  close(): Promise<void>;
}

/** Pod, namespace and IP from a control-plane config dump's bootstrap node. */
export function podOfDump(dump: unknown): { pod?: string; namespace?: string; ip?: string } {
  const configs = (field(dump, 'configs') as Json[] | undefined) ?? [];
  const boot = configs.find((c) => String(c['@type'] ?? '').endsWith('.BootstrapConfigDump'));
  const md = (field(field(field(boot, 'bootstrap'), 'node'), 'metadata') ?? {}) as Json;
  const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
  return { pod: str(md.POD_NAME), namespace: str(md.NAMESPACE), ip: str(md.INSTANCE_IPS)?.split(',')[0] };
}

export async function reachProxyAdmin(o: { target: Target; proxy: string; flags: KubeFlags; env?: NodeJS.ProcessEnv; home?: string; onError: (m: string) => void }): Promise<ProxyAdmin> {
  const dump = await getJson(o.target.hostPort, `/debug/config_dump?proxyID=${encodeURIComponent(o.proxy)}`);
  const { pod, namespace, ip } = podOfDump(dump);
  if (o.target.pod) {
    if (!pod || !namespace) throw new Error(`proxy ${o.proxy}: the control plane does not know its pod (no POD_NAME/NAMESPACE in its node metadata)`);
    const kc = await loadKubeConfig(o.flags.kubeconfig, o.flags.context, o.env, o.home);
    const fwd = await startForward(kc, namespace, pod, PORTS.admin, '127.0.0.1', [0], o.onError);
    return { hostPort: `127.0.0.1:${fwd.port}`, close: () => fwd.close() };
  }
  if (!ip) throw new Error(`proxy ${o.proxy}: the control plane does not know its IP (no INSTANCE_IPS in its node metadata); use --admin HOST:PORT`);
  return { hostPort: `${ip.includes(':') ? `[${ip}]` : ip}:${PORTS.admin}`, close: async () => {} };
}
