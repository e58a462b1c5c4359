/** How the injector builds the sidecar (the role of Istio's injection values). */
import { PORTS, PROXY_GID, PROXY_UID } from '@minimesh/mesh';

export type SidecarMode =
  /** istio-proxy as an init container with restartPolicy: Always (Kubernetes >= 1.29; our default). */
  | 'native'
  /** Old clusters: istio-proxy first among the containers, with a postStart hook that waits for readiness. */
  | 'hold';

export interface InjectOptions {
  /** The image that holds the `minimesh` program (entrypoint `minimesh`). */
  readonly image: string;
  /** The control plane's xDS address, `host:port`. */
  readonly xdsAddress: string;
  readonly mode: SidecarMode;
  readonly proxyUid: number;
  readonly proxyGid: number;
  /** `istio.io/rev` and the status annotation's revision. */
  readonly revision: string;
  readonly imagePullPolicy: string | undefined;
}

export const DEFAULT_INJECT_OPTIONS: InjectOptions = {
  image: 'minimesh/minimesh:latest',
  xdsAddress: `istiod.istio-system.svc:${PORTS.xds}`,
  mode: 'native',
  proxyUid: PROXY_UID,
  proxyGid: PROXY_GID,
  revision: 'default',
  imagePullPolicy: undefined,
};
