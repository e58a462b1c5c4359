/** The command-line flags shared by `minimesh injector` and `minimesh kube-inject`. */
import { DEFAULT_INJECT_OPTIONS, type InjectOptions } from './inject-options.js';

export const INJECT_FLAGS = {
  image: { type: 'string' },
  xds: { type: 'string' },
  'no-native-sidecar': { type: 'boolean' },
  revision: { type: 'string' },
} as const;

export const INJECT_FLAGS_USAGE = `      --image IMAGE        the image holding minimesh (default ${DEFAULT_INJECT_OPTIONS.image})
      --xds HOST:PORT      the control plane (default ${DEFAULT_INJECT_OPTIONS.xdsAddress})
      --no-native-sidecar  clusters before 1.29: proxy first, app waits for it (postStart)
      --revision REV       istio.io/rev (default ${DEFAULT_INJECT_OPTIONS.revision})
`;

export function injectOptionsFromFlags(v: { image?: string; xds?: string; 'no-native-sidecar'?: boolean; revision?: string }): Partial<InjectOptions> {
  const o: { -readonly [K in keyof InjectOptions]?: InjectOptions[K] } = {};
  if (v.image) o.image = v.image;
  if (v.xds) o.xdsAddress = v.xds;
  if (v['no-native-sidecar']) o.mode = 'hold';
  if (v.revision) o.revision = v.revision;
  return o;
}
