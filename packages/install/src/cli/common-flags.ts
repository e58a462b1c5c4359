/** Flags the install verbs share with istioctl: the cluster (--kubeconfig, --context) and durations. */
export const KUBE_FLAGS = {
  kubeconfig: { type: 'string', short: 'c' },
  context: { type: 'string' },
} as const;

export const KUBE_FLAGS_HELP = `  -c, --kubeconfig FILE    the kubeconfig (default $KUBECONFIG, then ~/.kube/config)
      --context NAME       the kubeconfig context to use (default: its current context)`;

export class UsageError extends Error {}

/** `300s`, `5m`, `1m30s`, `500ms` (Go's durations, as istioctl takes them) in ms. */
export function parseGoDuration(flag: string, text: string): number {
  const re = /(\d+(?:\.\d+)?)(ms|h|m|s)/g;
  let total = 0;
  let consumed = '';
  for (const m of text.matchAll(re)) {
    total += Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms' | 's' | 'm' | 'h'];
    consumed += m[0];
  }
  if (!text || consumed !== text) throw new UsageError(`${flag}: expected a duration such as 300s, 5m or 1m30s, got ${JSON.stringify(text)}`);
  return total;
}
