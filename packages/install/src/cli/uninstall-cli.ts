/** `minimesh uninstall --purge`: removes what install applied (CRDs too with --purge). */
import { parseArgs } from 'node:util';
import { KubeApi, loadKubeConfig } from '../apply/kube-api.js';
import { runUninstall } from '../apply/uninstall-flow.js';
import { confirm } from './confirm.js';
import { KUBE_FLAGS, KUBE_FLAGS_HELP } from './common-flags.js';

export const UNINSTALL_USAGE = `Usage: minimesh uninstall (--purge | --revision default) [flags]

Removes every object minimesh install applied (those labelled operator.istio.io/component,
and the default-revision tag webhooks). --purge removes the CRDs too, and with them every
VirtualService, DestinationRule, Gateway, ... in the cluster. The namespace istio-system stays.

Flags:
      --purge              remove everything, CRDs included
  -r, --revision REV       remove the control plane of this revision (only "default"), CRDs kept
  -y, --skip-confirmation  do not ask
${KUBE_FLAGS_HELP}
  -h, --help               this help
`;

export async function uninstallMain(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: { purge: { type: 'boolean' }, revision: { type: 'string', short: 'r' }, filename: { type: 'string', short: 'f' }, 'skip-confirmation': { type: 'boolean', short: 'y' }, ...KUBE_FLAGS, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    process.stderr.write(`Error: ${(e as Error).message}\n\n${UNINSTALL_USAGE}`);
    return 64;
  }
  if (values.help) {
    process.stdout.write(UNINSTALL_USAGE);
    return 0;
  }
  if (!values.purge && !values.revision && !values.filename) {
    process.stderr.write('Error: at least one of the --revision (or --set revision=<revision>), --filename or --purge flags must be set\n');
    return 64;
  }
  if (values.revision && values.revision !== 'default') {
    process.stderr.write(`Error: no control plane of revision ${JSON.stringify(values.revision)}: minimesh installs only the default revision\n`);
    return 1;
  }
  try {
    const api = new KubeApi(loadKubeConfig({ kubeconfig: values.kubeconfig, context: values.context }));
    if (!values['skip-confirmation']) {
      const what = values.purge ? 'All minimesh resources will be pruned from the cluster' : 'The default revision\'s control plane, webhooks and gateways will be removed from the cluster';
      process.stdout.write(`${what}\n`);
      if (!(await confirm('Proceed?'))) {
        process.stdout.write('Cancelled.\n');
        return 1;
      }
    }
    return await runUninstall({ api, purge: values.purge ?? false, out: process.stdout });
  } catch (e) {
    process.stderr.write(`Error: ${(e as Error).message}\n`);
    return 1;
  }
}
