/**
 * `minimesh proxy-config listeners|routes|clusters|endpoints PROXY`: what the control plane
 * generated for a proxy (its /debug/config_dump), or with --admin what a proxy holds (its own
 * admin /config_dump), as istioctl's tables; `-o json` prints the raw resources.
 * `proxy-config secret PROXY`: the secrets the proxy holds, always from its own admin
 * /config_dump (see proxy-config-secret.ts and proxy-admin.ts).
 */
import { parseArgs } from 'node:util';
import { PORTS } from '@minimesh/mesh';
import { CONTROL_PLANE_LOOKUP, DEFAULT_CONTROL_PLANE, getJson } from './debug-client.js';
import { KUBE_FLAG_OPTIONS, kubeFlagsUsage, kubeFlagsOf, PROCESS_IO, reachControlPlane, viaTarget, type CliIo, type Target } from './control-plane-target.js';
import { liveEndpointsTable, PROXY_CONFIG_KINDS, proxyConfigJson, proxyConfigTable, type ProxyConfigKind } from './proxy-config-tables.js';
import { secretJson, secretTable } from './proxy-config-secret.js';
import { reachProxyAdmin, type ProxyAdmin } from './proxy-admin.js';

export const PROXY_CONFIG_USAGE = `Usage: minimesh proxy-config (clusters|listeners|routes|endpoints|secret) PROXY [options]
       minimesh proxy-config (clusters|listeners|routes|endpoints|secret) --admin HOST:PORT [options]

secret: the certificates the proxy holds (default, ROOTCA), read from its admin port
(PORT 15000 at the pod's IP in the local mesh; port-forwarded to the pod in a cluster).

PROXY is the proxy's POD.NAMESPACE (as proxy-status prints it), its pod name or its node id.
${CONTROL_PLANE_LOOKUP}
Options:
      --control-plane HOST:PORT   the control plane's debug address (alias --control-plane-address)
${kubeFlagsUsage(34)}
      --admin HOST:PORT           read the proxy's own admin /config_dump instead (e.g. 127.0.0.2:15000)
  -o, --output FORMAT             table (default) or json
  -h, --help                      this help
`;

type Kind = ProxyConfigKind | 'secret';
const ALIASES: Record<string, Kind> = { secret: 'secret', secrets: 'secret', s: 'secret', cluster: 'clusters', clusters: 'clusters', c: 'clusters', listener: 'listeners', listeners: 'listeners', l: 'listeners', route: 'routes', routes: 'routes', r: 'routes', endpoint: 'endpoints', endpoints: 'endpoints', ep: 'endpoints' };

export async function proxyConfigMain(argv: string[], io: CliIo = PROCESS_IO): Promise<number> {
  let values, positionals;
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      options: { 'control-plane': { type: 'string' }, 'control-plane-address': { type: 'string' }, ...KUBE_FLAG_OPTIONS, admin: { type: 'string' }, output: { type: 'string', short: 'o' }, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
    }));
  } catch (e) {
    io.err(`minimesh proxy-config: ${(e as Error).message}\n\n${PROXY_CONFIG_USAGE}`);
    return 2;
  }
  if (values.help) {
    io.out(PROXY_CONFIG_USAGE);
    return 0;
  }
  const kind = ALIASES[positionals[0] ?? ''];
  const proxy = positionals[1];
  if (!kind || (!proxy && !values.admin)) {
    io.err(`minimesh proxy-config: expected one of ${[...PROXY_CONFIG_KINDS, 'secret'].join('|')} and a PROXY (or --admin)\n\n${PROXY_CONFIG_USAGE}`);
    return 2;
  }
  let target: Target | undefined;
  let admin: ProxyAdmin | undefined;
  try {
    if (!values.admin)
      target = await reachControlPlane({
        explicit: values['control-plane'] ?? values['control-plane-address'],
        flags: kubeFlagsOf(values),
        remotePort: PORTS.controlPlaneDebug,
        localDefault: io.localAddress ?? DEFAULT_CONTROL_PLANE,
        onError: (m) => io.err(`minimesh proxy-config: ${m}\n`),
        env: io.env,
        home: io.home,
      });
    if (kind === 'secret') {
      admin = values.admin ? undefined : await reachProxyAdmin({ target: target!, proxy: proxy!, flags: kubeFlagsOf(values), env: io.env, home: io.home, onError: (m) => io.err(`minimesh proxy-config: ${m}\n`) });
      const dump = await getJson(values.admin ?? admin!.hostPort, '/config_dump');
      if (values.output === 'json') io.out(`${JSON.stringify(secretJson(dump), null, 2)}\n`);
      else io.out(`${secretTable(dump)}\n`);
      return 0;
    }
    if (kind === 'endpoints' && values.admin && values.output !== 'json') {
      // What the proxy holds now: health and outlier ejections come from its /clusters.
      io.out(`${liveEndpointsTable(await getJson(values.admin, '/clusters?format=json'))}\n`);
      return 0;
    }
    const dump = values.admin ? await getJson(values.admin, '/config_dump') : await getJson(target!.hostPort, `/debug/config_dump?proxyID=${encodeURIComponent(proxy!)}`);
    if (values.output === 'json') io.out(`${JSON.stringify(proxyConfigJson(kind, dump), null, 2)}\n`);
    else io.out(`${proxyConfigTable(kind, dump)}\n`);
    return 0;
  } catch (e) {
    io.err(`minimesh proxy-config: ${viaTarget((e as Error).message, target, PORTS.controlPlaneDebug)}\n`);
    return 1;
  } finally {
    await admin?.close();
    await target?.close();
  }
}
