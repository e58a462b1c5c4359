/** `minimesh kube-inject -f FILE|-`: prints the YAML with the sidecar added. */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { kubeInject } from './kube-inject.js';
import { injectOptionsFromFlags, INJECT_FLAGS, INJECT_FLAGS_USAGE } from '../inject-flags.js';

export const KUBE_INJECT_USAGE = `Usage: minimesh kube-inject -f FILE|- [options]

Adds istio-init and istio-proxy to the Pods, Deployments, StatefulSets, DaemonSets,
ReplicaSets, Jobs and CronJobs of multi-document YAML (like istioctl kube-inject).

Options:
  -f, --filename FILE      the YAML to read ('-' for stdin)
${INJECT_FLAGS_USAGE}  -h, --help               this help
`;

export async function kubeInjectMain(argv: string[]): Promise<number> {
  let values;
  try {
    values = parseArgs({ args: argv, options: { filename: { type: 'string', short: 'f' }, help: { type: 'boolean', short: 'h' }, ...INJECT_FLAGS }, strict: true }).values;
  } catch (e) {
    process.stderr.write(`minimesh kube-inject: ${(e as Error).message}\n\n${KUBE_INJECT_USAGE}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(KUBE_INJECT_USAGE);
    return 0;
  }
  if (values.filename === undefined) {
    process.stderr.write(`minimesh kube-inject: -f FILE is required\n\n${KUBE_INJECT_USAGE}`);
    return 2;
  }
  try {
    const text = readFileSync(values.filename === '-' ? 0 : values.filename, 'utf8');
    const r = kubeInject(text, injectOptionsFromFlags(values));
    process.stdout.write(r.yaml);
    for (const n of r.notes) process.stderr.write(`# ${n}\n`);
    return 0;
  } catch (e) {
    process.stderr.write(`minimesh kube-inject: ${(e as Error).message}\n`);
    return 1;
  }
}
