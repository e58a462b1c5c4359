/**
 * Where the istioctl-like commands (proxy-status, proxy-config, stat, dashboard) find the
 * control plane. In order:
 *   1. an address flag given (`--control-plane`, `--dashboard`, `--address`): that address;
 *   2. a cluster flag given (`--kubeconfig`, `--context`, `-i/--istioNamespace`): the cluster;
 *   3. a control plane answering on this machine's default port (the local mesh, or a
 *      `kubectl port-forward` left running): that one. "Answering" is a 2xx to a path only the
 *      control plane serves (/version on 15014, /api/proxies on 20001), so that Kiali's
 *      forward on 20001 is not taken for the dashboard;
 *   4. a kubeconfig present ($KUBECONFIG, else ~/.kube/config): the cluster;
 *   5. otherwise the local default, which then fails saying it cannot be reached.
 * "The cluster" is what istioctl does: a local port forwarded, through the API server, to the
 * control plane's port on the first Running pod labelled app=istiod in istio-system (or -i).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ISTIO_NAMESPACE, ISTIOD_POD_SELECTOR } from '@minimesh/mesh';
import { findPod, loadKubeConfig, startForward } from './port-forward.js';

export interface KubeFlags {
  readonly kubeconfig?: string;
  readonly context?: string;
  readonly istioNamespace?: string;
}

/** The flags, for parseArgs: istioctl's spellings (`-i`, `--istioNamespace`) and a kebab-case one. */
export const KUBE_FLAG_OPTIONS = {
  kubeconfig: { type: 'string' },
  context: { type: 'string' },
  istioNamespace: { type: 'string', short: 'i' },
  'istio-namespace': { type: 'string' },
} as const;

/** The flags' lines of a usage text, descriptions starting at column `col`. */
export function kubeFlagsUsage(col: number): string {
  const line = (flag: string, text: string): string => `${flag.padEnd(col)}${text}`;
  return [
    line('      --kubeconfig FILE', 'the kubeconfig (default: $KUBECONFIG, else ~/.kube/config)'),
    line('      --context NAME', 'the kubeconfig context to use'),
    line('  -i, --istioNamespace NS', `the control plane's namespace (default ${ISTIO_NAMESPACE})`),
  ].join('\n');
}

export function kubeFlagsOf(v: { kubeconfig?: string; context?: string; istioNamespace?: string; 'istio-namespace'?: string }): KubeFlags {
  return { kubeconfig: v.kubeconfig, context: v.context, istioNamespace: v.istioNamespace ?? v['istio-namespace'] };
}

const anyKubeFlag = (f: KubeFlags): boolean => f.kubeconfig !== undefined || f.context !== undefined || f.istioNamespace !== undefined;

/** A kubeconfig to use: `--kubeconfig`, a file of $KUBECONFIG, else ~/.kube/config. */
export function kubeconfigPresent(flags: KubeFlags, env: NodeJS.ProcessEnv = process.env, home: string = os.homedir()): boolean {
  if (flags.kubeconfig !== undefined) return true;
  if (env.KUBECONFIG) return env.KUBECONFIG.split(path.delimiter).some((f) => f !== '' && fs.existsSync(f));
  return fs.existsSync(path.join(home, '.kube', 'config'));
}

export type Route = 'address' | 'cluster' | 'local';

/** The order above, as a pure decision; `localAnswers` is only asked when it matters. */
export async function chooseRoute(o: { readonly explicit: boolean; readonly flags: KubeFlags; readonly localAnswers: () => Promise<boolean>; readonly kubeconfigPresent: () => boolean }): Promise<Route> {
  if (o.explicit) return 'address';
  if (anyKubeFlag(o.flags)) return 'cluster';
  if (await o.localAnswers()) return 'local';
  return o.kubeconfigPresent() ? 'cluster' : 'local';
}

/** What only the control plane's dashboard answers (Kiali, also on 20001, does not). */
export const DASHBOARD_PROBE_PATH = '/api/proxies';

/** Whether `GET http://hostPort{path}` answers 2xx within `timeoutMs` (redirects not followed). */
export async function answers(hostPort: string, pathname: string, timeoutMs = 1000): Promise<boolean> {
  try {
    const res = await fetch(`http://${hostPort}${pathname}`, { redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
    await res.arrayBuffer();
    return res.ok;
  } catch {
    return false;
  }
}

/** The control plane at `hostPort` (through a port-forward to `pod` when there is one). */
export interface Target {
  readonly hostPort: string;
  readonly pod?: { readonly namespace: string; readonly name: string };
  close(): Promise<void>;
}

export interface ReachOptions {
  /** The address flag's value, when given. */
  readonly explicit?: string;
  readonly flags: KubeFlags;
  /** The control plane's port in its pod (15014 debug, 20001 dashboard). */
  readonly remotePort: number;
  /** HOST:PORT of a control plane on this machine. */
  readonly localDefault: string;
  /** A path it answers 2xx on when it is there (default /version). */
  readonly probePath?: string;
  /** Local ports to try for the forward, in order (0: any; default [0]). */
  readonly localPorts?: readonly number[];
  /** Where the forward listens (default 127.0.0.1). */
  readonly listenHost?: string;
  /** Problems of single forwarded connections (the API server refusing one, ...). */
  readonly onError?: (message: string) => void;
  readonly env?: NodeJS.ProcessEnv;
  readonly home?: string;
}

const noClose = async (): Promise<void> => {};

/** The route chosen, and the control plane reached through it. Throws Error with a message for the user. */
export async function reachControlPlane(o: ReachOptions): Promise<Target> {
  const route = await chooseRoute({
    explicit: o.explicit !== undefined,
    flags: o.flags,
    localAnswers: () => answers(o.localDefault, o.probePath ?? '/version'),
    kubeconfigPresent: () => kubeconfigPresent(o.flags, o.env, o.home),
  });
  if (route === 'address') return { hostPort: o.explicit!, close: noClose };
  if (route === 'local') return { hostPort: o.localDefault, close: noClose };
  try {
    return await forwardToControlPlane(o);
  } catch (e) {
    // Chosen because a kubeconfig exists: say what else was tried.
    const also = anyKubeFlag(o.flags) ? '' : ` (and no control plane answers on ${o.localDefault})`;
    throw new Error(`${(e as Error).message}${also}`);
  }
}

/** A local port forwarded to `remotePort` of the first Running `app=istiod` pod. */
export async function forwardToControlPlane(o: ReachOptions): Promise<Target> {
  const kc = await loadKubeConfig(o.flags.kubeconfig, o.flags.context, o.env, o.home);
  const namespace = o.flags.istioNamespace ?? ISTIO_NAMESPACE;
  let pod: string | undefined;
  try {
    pod = await findPod(kc, namespace, ISTIOD_POD_SELECTOR);
  } catch (e) {
    throw new Error(`cannot list pods with selector ${ISTIOD_POD_SELECTOR} in namespace ${namespace}: ${(e as Error).message}`);
  }
  if (!pod) throw new Error(`no pods found with selector ${ISTIOD_POD_SELECTOR} in namespace ${namespace}`);
  const host = o.listenHost ?? '127.0.0.1';
  const forward = await startForward(kc, namespace, pod, o.remotePort, host, o.localPorts ?? [0], o.onError ?? (() => {}));
  return { hostPort: `${host.includes(':') ? `[${host}]` : host}:${forward.port}`, pod: { namespace, name: pod }, close: () => forward.close() };
}

/** A command's output and the environment its kubeconfig is looked for in. */
export interface CliIo {
  readonly out: (s: string) => void;
  readonly err: (s: string) => void;
  readonly env?: NodeJS.ProcessEnv;
  readonly home?: string;
  /** HOST:PORT of a control plane on this machine, instead of the command's default. */
  readonly localAddress?: string;
}

export const PROCESS_IO: CliIo = { out: (s) => void process.stdout.write(s), err: (s) => void process.stderr.write(s) };

/** An error through a forward: which pod it went to (the local port alone says nothing). */
export function viaTarget(message: string, target: Target | undefined, remotePort: number): string {
  return target?.pod ? `${message} (port-forwarded to pod ${target.pod.namespace}/${target.pod.name}:${remotePort})` : message;
}
