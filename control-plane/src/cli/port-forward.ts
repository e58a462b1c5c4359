/**
 * What `minimesh dashboard` needs of a cluster: the kubeconfig, a pod by label selector (a
 * Running one, Ready first) or by name, and a local port forwarded to a port of that pod
 * through the API server (kubectl port-forward's protocol), one stream per connection.
 */
import net from 'node:net';
import type { KubeConfig } from '@kubernetes/client-node';
import { KubeApiError, kubeGetJson } from '../sources/kube-get.js';

/** The kubeconfig (`file`, else $KUBECONFIG or ~/.kube/config), switched to `context` when given. */
export async function loadKubeConfig(file: string | undefined, context: string | undefined): Promise<KubeConfig> {
  // Loaded on first use, as the control plane's Kubernetes source does (its undici needs a recent Node).
  const k8s = await import('@kubernetes/client-node');
  const kc = new k8s.KubeConfig();
  if (file) kc.loadFromFile(file);
  else kc.loadFromDefault();
  if (context !== undefined) {
    if (!kc.getContextObject(context)) throw new Error(`no context ${JSON.stringify(context)} in the kubeconfig`);
    kc.setCurrentContext(context);
  }
  return kc;
}

/** The namespace of the kubeconfig's current context, else `default` (kubectl's rule). */
export const contextNamespace = (kc: KubeConfig): string => kc.getContextObject(kc.getCurrentContext())?.namespace || 'default';

interface PodItem {
  metadata?: { name?: string; deletionTimestamp?: string };
  status?: { phase?: string; conditions?: { type?: string; status?: string }[] };
}

/** The name of a Running pod (a Ready one first) of `namespace` matching `selector`, or undefined. */
export async function findPod(kc: KubeConfig, namespace: string, selector: string): Promise<string | undefined> {
  const list = (await kubeGetJson(kc, `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods?labelSelector=${encodeURIComponent(selector)}`)) as { items?: PodItem[] };
  const running = (list.items ?? []).filter((p) => p.status?.phase === 'Running' && !p.metadata?.deletionTimestamp && p.metadata?.name);
  const ready = running.filter((p) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
  return (ready[0] ?? running[0])?.metadata?.name;
}

/** Whether the pod exists (any phase). */
export async function podExists(kc: KubeConfig, namespace: string, name: string): Promise<boolean> {
  try {
    await kubeGetJson(kc, `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(name)}`);
    return true;
  } catch (e) {
    if (e instanceof KubeApiError && e.statusCode === 404) return false;
    throw e;
  }
}

export interface Forward {
  /** The local port listened on. */
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Listens on `host` at the first of `ports` that is free (0: any) and forwards each connection
 * to `remotePort` of the pod. Throws when no port could be listened on.
 */
export async function startForward(kc: KubeConfig, namespace: string, pod: string, remotePort: number, host: string, ports: readonly number[], onError: (message: string) => void): Promise<Forward> {
  const k8s = await import('@kubernetes/client-node');
  const forward = new k8s.PortForward(kc);
  let lastError: Error | undefined;
  for (const wanted of ports) {
    const sockets = new Set<net.Socket>();
    const server = net.createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => socket.destroy());
      forward.portForward(namespace, pod, [remotePort], socket, null, socket).catch((e: unknown) => {
        onError(`port-forward to ${namespace}/${pod}:${remotePort}: ${(e as Error).message ?? e}`);
        socket.destroy();
      });
    });
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(wanted, host, () => resolve());
      });
    } catch (e) {
      lastError = e as Error;
      continue;
    }
    return {
      port: (server.address() as net.AddressInfo).port,
      close: () =>
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          for (const s of sockets) s.destroy();
        }),
    };
  }
  throw new Error(`cannot listen on ${host}:${ports.join(' or ')}: ${lastError?.message ?? 'no port to try'}`);
}
