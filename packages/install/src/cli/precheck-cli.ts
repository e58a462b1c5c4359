/** `minimesh x precheck`: is the cluster fit for an install? */
import { parseArgs } from 'node:util';
import { INJECTOR_WEBHOOK_CONFIG } from '@minimesh/mesh';
import { KubeApi, loadKubeConfig } from '../apply/kube-api.js';
import { KUBE_FLAGS, KUBE_FLAGS_HELP } from './common-flags.js';

/** The oldest Kubernetes the installed mesh runs on: the injector makes the proxy a native sidecar (an init container with restartPolicy Always, 1.29+). */
export const MIN_KUBERNETES_MINOR = 29;

export const PRECHECK_USAGE = `Usage: minimesh x precheck [flags]

Checks the cluster before an install: the API server answers, its Kubernetes version is
1.${MIN_KUBERNETES_MINOR} or newer, and no other mesh's injector webhook is registered.

Flags:
${KUBE_FLAGS_HELP}
  -h, --help               this help
`;

export async function precheckMain(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({ args: argv, options: { ...KUBE_FLAGS, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: false }));
  } catch (e) {
    process.stderr.write(`Error: ${(e as Error).message}\n\n${PRECHECK_USAGE}`);
    return 64;
  }
  if (values.help) {
    process.stdout.write(PRECHECK_USAGE);
    return 0;
  }
  const issues: string[] = [];
  try {
    const api = new KubeApi(loadKubeConfig({ kubeconfig: values.kubeconfig, context: values.context }));
    const v = await api.version();
    const minor = Number.parseInt(v.minor, 10);
    if (v.major !== '1' || !(minor >= MIN_KUBERNETES_MINOR)) issues.push(`Error [IST0142] (Cluster) The Kubernetes API version: ${v.gitVersion} is lower than the minimum version: 1.${MIN_KUBERNETES_MINOR}`);
    const mwc = await api.get('admissionregistration.k8s.io/v1', 'MutatingWebhookConfiguration', INJECTOR_WEBHOOK_CONFIG);
    if (mwc && !mwc.metadata.labels?.['operator.istio.io/version']) issues.push(`Warning (MutatingWebhookConfiguration ${INJECTOR_WEBHOOK_CONFIG}) an injector webhook not installed by minimesh install is registered; remove the other installation first`);
  } catch (e) {
    issues.push(`Error (Cluster) ${(e as Error).message}`);
  }
  if (issues.length === 0) {
    process.stderr.write('✔ No issues found when checking the cluster. minimesh is safe to install or upgrade!\n  To get started, check out examples/echo/MINIKUBE.md and examples/microservices/MINIKUBE.md\n');
    return 0;
  }
  process.stdout.write(`${issues.join('\n')}\n`);
  process.stderr.write('Error: Issues found when checking the cluster. minimesh may not be safe to install or upgrade.\n');
  return 1;
}
