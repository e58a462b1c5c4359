/**
 * `minimesh proxy-config listeners|routes|clusters|endpoints PROXY`: what the control plane
 * generated for a proxy (its /debug/config_dump), or with --admin what a proxy holds (its own
 * admin /config_dump), as istioctl's tables; `-o json` prints the raw resources.
 */
import { parseArgs } from 'node:util';
import { PORTS } from '@minimesh/mesh';
import { CONTROL_PLANE_LOOKUP, DEFAULT_CONTROL_PLANE, getJson } from './debug-client.js';
import { KUBE_FLAG_OPTIONS, kubeFlagsUsage, kubeFlagsOf, PROCESS_IO, reachControlPlane, viaTarget, type CliIo, type Target } from './control-plane-target.js';
import { PROXY_CONFIG_KINDS, proxyConfigJson, proxyConfigTable, type ProxyConfigKind } from './proxy-config-tables.js';

export const PROXY_CONFIG_USAGE = `Usage: minimesh proxy-config (clusters|listeners|routes|endpoints) PROXY [options]
       minimesh proxy-config (clusters|listeners|routes|endpoints) --admin HOST:PORT [options]

PROXY is the proxy's POD.NAMESPACE (as proxy-status prints it), its pod name or its node id.
${CONTROL_PLANE_LOOKUP}
Options:
      --control-plane HOST:PORT   the control plane's debug address (alias --control-plane-address)
${kubeFlagsUsage(34)}
      --admin HOST:PORT           read the proxy's own admin /config_dump instead (e.g. 127.0.0.2:15000)
  -o, --output FORMAT             table (default) or json
  -h, --help                      this help
`;

const ALIASES: Record<string, ProxyConfigKind> = { cluster: 'clusters', clusters: 'clusters', c: 'clusters', listener: 'listeners', listeners: 'listeners', l: 'listeners', route: 'routes', routes: 'routes', r: 'routes', endpoint: 'endpoints', endpoints: 'endpoints', ep: 'endpoints' };

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
    io.err(`minimesh proxy-config: expected one of ${PROXY_CONFIG_KINDS.join('|')} and a PROXY (or --admin)\n\n${PROXY_CONFIG_USAGE}`);
    return 2;
  }
  let target: Target | undefined;
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
    const dump = values.admin ? await getJson(values.admin, '/config_dump') : await getJson(target!.hostPort, `/debug/config_dump?proxyID=${encodeURIComponent(proxy!)}`);
    if (values.output === 'json') io.out(`${JSON.stringify(proxyConfigJson(kind, dump), null, 2)}\n`);
    else io.out(`${proxyConfigTable(kind, dump)}\n`);
    return 0;
  } catch (e) {
    io.err(`minimesh proxy-config: ${viaTarget((e as Error).message, target, PORTS.controlPlaneDebug)}\n`);
    return 1;
  } finally {
    await target?.close();
  }
}
