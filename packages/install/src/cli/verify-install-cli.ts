/** `minimesh verify-install`: is what install applied there and ready? */
import { parseArgs } from 'node:util';
import { ISTIO_NAMESPACE } from '@minimesh/mesh';
import { renderManifest, resolveInstallValues, type InstallValues } from '../index.js';
import { KubeApi, loadKubeConfig } from '../apply/kube-api.js';
import { INSTALL_VALUES_ANNOTATION } from '../apply/install-flow.js';
import { runVerify } from '../apply/verify-flow.js';
import { KUBE_FLAGS, KUBE_FLAGS_HELP } from './common-flags.js';

export const VERIFY_USAGE = `Usage: minimesh verify-install [flags]

Checks that every object of the installed profile exists and is ready. The profile and
values are those install recorded; --set/-f check against others instead.

Flags:
  -s, --set KEY=VALUE      as for install
  -f, --filename FILE      as for install
${KUBE_FLAGS_HELP}
  -h, --help               this help
`;

export async function verifyInstallMain(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: { set: { type: 'string', short: 's', multiple: true }, filename: { type: 'string', short: 'f', multiple: true }, revision: { type: 'string', short: 'r' }, ...KUBE_FLAGS, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    process.stderr.write(`Error: ${(e as Error).message}\n\n${VERIFY_USAGE}`);
    return 64;
  }
  if (values.help) {
    process.stdout.write(VERIFY_USAGE);
    return 0;
  }
  try {
    const api = new KubeApi(loadKubeConfig({ kubeconfig: values.kubeconfig, context: values.context }));
    let v: InstallValues;
    if (values.set?.length || values.filename?.length) v = resolveInstallValues({ sets: values.set ?? [], files: values.filename ?? [] });
    else {
      const ns = await api.get('v1', 'Namespace', ISTIO_NAMESPACE);
      const recorded = ns?.metadata.annotations?.[INSTALL_VALUES_ANNOTATION];
      if (!recorded) {
        process.stdout.write('! No minimesh installation found\n');
        return 1;
      }
      v = JSON.parse(recorded) as InstallValues;
    }
    return await runVerify({ api, components: renderManifest(v), out: process.stdout });
  } catch (e) {
    process.stderr.write(`Error: ${(e as Error).message}\n`);
    return 1;
  }
}
