/** `minimesh install` (alias `apply`): istioctl install's flags, prompt and output. */
import { parseArgs } from 'node:util';
import { ISTIO_NAMESPACE, MINIMESH_VERSION } from '@minimesh/mesh';
import { renderManifest, resolveInstallValues, InstallValuesError, componentTitle } from '../index.js';
import { KubeApi, loadKubeConfig } from '../apply/kube-api.js';
import { runInstall } from '../apply/install-flow.js';
import { confirm } from './confirm.js';
import { KUBE_FLAGS, KUBE_FLAGS_HELP, parseGoDuration, UsageError } from './common-flags.js';

export const INSTALL_USAGE = `Usage: minimesh install [flags]   (alias: minimesh apply)

Installs minimesh on the cluster with server-side apply, as istioctl install does: the
namespace istio-system, Istio's CRDs, the control plane (istiod), its webhooks and the
gateways of the profile, each waited for until ready.

Flags:
  -s, --set KEY=VALUE      a value: profile=demo|default|minimal|empty,
                           values.gateways.istio-ingressgateway.type=NodePort,
                           meshConfig.accessLogFile=/dev/stdout, values.global.proxy.image=IMAGE
      --profile NAME       the same as --set profile=NAME
  -f, --filename FILE      an IstioOperator YAML (profile, meshConfig, values, components)
  -y, --skip-confirmation  do not ask before installing
      --readiness-timeout D  how long to wait for each component to be ready (default 5m0s)
      --dry-run            render and check against the API server (server-side dry run); change nothing
${KUBE_FLAGS_HELP}
  -h, --help               this help
`;

export async function installMain(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        set: { type: 'string', short: 's', multiple: true },
        profile: { type: 'string' },
        filename: { type: 'string', short: 'f', multiple: true },
        'skip-confirmation': { type: 'boolean', short: 'y' },
        'readiness-timeout': { type: 'string' },
        'dry-run': { type: 'boolean' },
        force: { type: 'boolean' },
        revision: { type: 'string', short: 'r' },
        ...KUBE_FLAGS,
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    process.stderr.write(`Error: ${(e as Error).message}\n\n${INSTALL_USAGE}`);
    return 64;
  }
  if (values.help) {
    process.stdout.write(INSTALL_USAGE);
    return 0;
  }
  try {
    if (values.revision && values.revision !== 'default') throw new UsageError(`--revision: only the default revision is supported, got ${JSON.stringify(values.revision)}`);
    const timeoutMs = parseGoDuration('--readiness-timeout', values['readiness-timeout'] ?? '300s');
    const v = resolveInstallValues({ sets: values.set ?? [], files: values.filename ?? [], profile: values.profile });
    const components = renderManifest(v);
    const api = new KubeApi(loadKubeConfig({ kubeconfig: values.kubeconfig, context: values.context }));
    if (values['dry-run']) return await dryRun(api, components);
    if (!values['skip-confirmation']) {
      const names = components.map((c) => componentTitle(c.component));
      const list = names.length > 1 ? `${names.slice(0, -1).join(', ')}, and ${names.at(-1)}` : names.join('');
      const ok = await confirm(`This will install the minimesh ${MINIMESH_VERSION} "${v.profile}" profile (with components: ${list}) into the cluster. Proceed?`);
      if (!ok) {
        process.stdout.write('Cancelled.\n');
        return 1;
      }
    }
    return await runInstall({ api, values: v, components, out: process.stdout, readinessTimeoutMs: timeoutMs });
  } catch (e) {
    if (e instanceof UsageError || e instanceof InstallValuesError) {
      process.stderr.write(`Error: ${e.message}\n`);
      return 64;
    }
    process.stderr.write(`Error: ${(e as Error).message}\n`);
    return 1;
  }
}

/** Every object through the API server's dry run (cluster-scoped ones, and namespaced ones once istio-system exists). */
async function dryRun(api: KubeApi, components: ReturnType<typeof renderManifest>): Promise<number> {
  const nsExists = (await api.get('v1', 'Namespace', ISTIO_NAMESPACE)) !== undefined;
  let failed = 0;
  for (const c of components) {
    let checked = 0;
    for (const o of c.objects) {
      if (o.metadata.namespace && !nsExists) continue;
      try {
        await api.apply(o, true);
        checked++;
      } catch (e) {
        failed++;
        process.stdout.write(`✘ ${c.title}: ${o.kind}/${o.metadata.name}: ${(e as Error).message}\n`);
      }
    }
    const note = nsExists || checked === c.objects.length ? '' : `; ${ISTIO_NAMESPACE} does not exist yet, so the API server checked ${checked} of them`;
    process.stdout.write(`✔ ${c.title}: ${c.objects.length} objects (dry run${note})\n`);
  }
  process.stdout.write(failed ? `✘ Dry run found ${failed} problem${failed === 1 ? '' : 's'}; nothing was applied\n` : '✔ Dry run complete: nothing was applied\n');
  return failed ? 1 : 0;
}
