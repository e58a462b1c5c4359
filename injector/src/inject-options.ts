/** How the injector builds the sidecar (the role of Istio's injection values). */
import { istiodSecureXdsAddress, MINIMESH_IMAGE, MINIMESH_IMAGE_PULL_POLICY, PORTS, PROXY_GID, PROXY_UID } from '@minimesh/mesh';

export type SidecarMode =
  /** istio-proxy as an init container with restartPolicy: Always (Kubernetes >= 1.29; our default). */
  | 'native'
  /** Old clusters: istio-proxy first among the containers, with a postStart hook that waits for readiness. */
  | 'hold';

export interface InjectOptions {
  /** The image that holds the `minimesh` program (entrypoint `minimesh`). */
  readonly image: string;
  /**
   * The control plane's xDS address, `host:port`. On port 15012 the sidecar speaks TLS, trusting
   * the root the namespace's ConfigMap publishes (mounted into istio-proxy); else plain text.
   */
  readonly xdsAddress: string;
  readonly mode: SidecarMode;
  readonly proxyUid: number;
  readonly proxyGid: number;
  /** `istio.io/rev` and the status annotation's revision. */
  readonly revision: string;
  readonly imagePullPolicy: string | undefined;
  /**
   * The proxy's `--concurrency` (worker processes), the role of the mesh's
   * `defaultConfig.concurrency`; a pod's `proxy.istio.io/config` annotation overrides it.
   */
  readonly concurrency: number;
}

/** Istio's sidecars run 2 workers unless the mesh config or the pod says otherwise. */
export const DEFAULT_PROXY_CONCURRENCY = 2;

export const DEFAULT_INJECT_OPTIONS: InjectOptions = {
  image: MINIMESH_IMAGE,
  xdsAddress: istiodSecureXdsAddress(),
  mode: 'native',
  proxyUid: PROXY_UID,
  proxyGid: PROXY_GID,
  revision: 'default',
  // The image is built into the cluster's runtime (`minikube image build`), never pulled.
  imagePullPolicy: MINIMESH_IMAGE_PULL_POLICY,
  concurrency: DEFAULT_PROXY_CONCURRENCY,
};

/** Whether the sidecar reaches the control plane over TLS: Istio's secure xDS port. */
export function xdsOverTls(xdsAddress: string): boolean {
  return Number(xdsAddress.slice(xdsAddress.lastIndexOf(':') + 1)) === PORTS.xdsTls;
}
