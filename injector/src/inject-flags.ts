/** The command-line flags shared by `minimesh injector` and `minimesh kube-inject`. */
import { PORTS, ROOT_CERT_CONFIGMAP, ROOT_CERT_MOUNT_PATH } from '@minimesh/mesh';
import { DEFAULT_INJECT_OPTIONS, type InjectOptions } from './inject-options.js';

export const INJECT_FLAGS = {
  image: { type: 'string' },
  'image-pull-policy': { type: 'string' },
  xds: { type: 'string' },
  'no-native-sidecar': { type: 'boolean' },
  revision: { type: 'string' },
  'proxy-concurrency': { type: 'string' },
} as const;

export const INJECT_FLAGS_USAGE = `      --image IMAGE        the image holding minimesh (default ${DEFAULT_INJECT_OPTIONS.image})
      --image-pull-policy P  Always, IfNotPresent or Never (default ${DEFAULT_INJECT_OPTIONS.imagePullPolicy}: the image is
                           built into the cluster, \`minikube image build -t ${DEFAULT_INJECT_OPTIONS.image} .\`)
      --xds HOST:PORT      the control plane (default ${DEFAULT_INJECT_OPTIONS.xdsAddress}): on port
                           ${PORTS.xdsTls} over TLS, trusting the root in the namespace's ConfigMap
                           ${ROOT_CERT_CONFIGMAP} (mounted at ${ROOT_CERT_MOUNT_PATH}); plain text on others
      --no-native-sidecar  clusters before 1.29: proxy first, app waits for it (postStart)
      --revision REV       istio.io/rev (default ${DEFAULT_INJECT_OPTIONS.revision})
      --proxy-concurrency N  the sidecars' worker processes (the mesh's defaultConfig.concurrency;
                           default ${DEFAULT_INJECT_OPTIONS.concurrency}; 0: one per core); a pod's
                           proxy.istio.io/config annotation "concurrency: N" wins
`;

const PULL_POLICIES = ['Always', 'IfNotPresent', 'Never'];

/** Throws on a value Kubernetes would refuse (--image-pull-policy). */
export function injectOptionsFromFlags(v: { image?: string; 'image-pull-policy'?: string; xds?: string; 'no-native-sidecar'?: boolean; revision?: string; 'proxy-concurrency'?: string }): Partial<InjectOptions> {
  const o: { -readonly [K in keyof InjectOptions]?: InjectOptions[K] } = {};
  if (v.image) o.image = v.image;
  const pull = v['image-pull-policy'];
  if (pull !== undefined) {
    if (!PULL_POLICIES.includes(pull)) throw new Error(`--image-pull-policy: ${PULL_POLICIES.join(', ')}; got ${JSON.stringify(pull)}`);
    o.imagePullPolicy = pull;
  }
  if (v.xds) o.xdsAddress = v.xds;
  if (v['no-native-sidecar']) o.mode = 'hold';
  if (v.revision) o.revision = v.revision;
  const c = v['proxy-concurrency'];
  if (c !== undefined) {
    const n = Number(c);
    if (c.trim() === '' || !Number.isInteger(n) || n < 0 || n > 128) throw new Error(`--proxy-concurrency: a number of workers from 0 (one per core) to 128; got ${JSON.stringify(c)}`);
    o.concurrency = n;
  }
  return o;
}
