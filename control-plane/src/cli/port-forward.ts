/**
 * What `minimesh dashboard` needs of a cluster: the kubeconfig, a pod by label selector (a
 * Running one, Ready first) or by name, and a local port forwarded to a port of that pod
 * through the API server (kubectl port-forward's protocol), one stream per connection.
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import type { KubeConfig } from '@kubernetes/client-node';
import { KubeApiError, kubeGetJson } from '../sources/kube-get.js';

/**
 * The kubeconfig (`file`, else the files of $KUBECONFIG merged as kubectl does, else
 * ~/.kube/config, else the client library's defaults: in-cluster), switched to `context` when
 * given. `env` and `home` default to this process's.
 */
export async function loadKubeConfig(file: string | undefined, context: string | undefined, env: NodeJS.ProcessEnv = process.env, home: string = os.homedir()): Promise<KubeConfig> {
  // Loaded on first use, as the control plane's Kubernetes source does (its undici needs a recent Node).
  const k8s = await import('@kubernetes/client-node');
  const kc = new k8s.KubeConfig();
  const listed = (env.KUBECONFIG ?? '').split(path.delimiter).filter((f) => f !== '' && fs.existsSync(f));
  const homeConfig = path.join(home, '.kube', 'config');
  if (file) kc.loadFromFile(file);
  else if (listed.length > 0) {
    kc.loadFromFile(listed[0]!);
    for (const f of listed.slice(1)) {
      const more = new k8s.KubeConfig();
      more.loadFromFile(f);
      kc.mergeConfig(more);
    }
  } else if (fs.existsSync(homeConfig)) kc.loadFromFile(homeConfig);
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
  const where = `port-forward to ${namespace}/${pod}:${remotePort}`;
  let lastError: Error | undefined;
  for (const wanted of ports) {
    // Each local connection and its stream through the API server end together.
    const streams = new Map<net.Socket, { close(): void } | undefined>();
    const server = net.createServer((socket) => {
      streams.set(socket, undefined);
      socket.on('error', () => socket.destroy());
      socket.on('close', () => {
        streams.get(socket)?.close();
        streams.delete(socket);
      });
      // The kubelet's error channel: why this connection failed (the pod port refused it, ...).
      const errors = new Writable({
        write(chunk: Buffer, _enc, done) {
          const text = chunk.toString('utf8').trim();
          if (text !== '') onError(`${where}: ${text}`);
          done();
        },
      });
      forward
        .portForward(namespace, pod, [remotePort], socket, errors, socket)
        .then((ws) => {
          const stream = typeof ws === 'function' ? ws() : ws;
          if (!stream) return;
          if (!streams.has(socket)) return stream.close();
          streams.set(socket, stream);
          stream.on?.('close', () => socket.end());
        })
        .catch((e: unknown) => {
          onError(`${where}: ${(e as Error).message ?? e}`);
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
          for (const [socket, stream] of streams) {
            stream?.close();
            socket.destroy();
          }
        }),
    };
  }
  throw new Error(`cannot listen on ${host}:${ports.join(' or ')}: ${lastError?.message ?? 'no port to try'}`);
}
