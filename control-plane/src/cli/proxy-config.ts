/**
 * `minimesh proxy-config listeners|routes|clusters|endpoints PROXY`: what the control plane
 * generated for a proxy (its /debug/config_dump), or with --admin what a proxy holds (its own
 * admin /config_dump), as istioctl's tables; `-o json` prints the raw resources.
 */
import { parseArgs } from 'node:util';
import { DEFAULT_CONTROL_PLANE, getJson } from './debug-client.js';
import { PROXY_CONFIG_KINDS, proxyConfigJson, proxyConfigTable, type ProxyConfigKind } from './proxy-config-tables.js';

export const PROXY_CONFIG_USAGE = `Usage: minimesh proxy-config (clusters|listeners|routes|endpoints) PROXY [options]
       minimesh proxy-config (clusters|listeners|routes|endpoints) --admin HOST:PORT [options]

PROXY is the proxy's POD.NAMESPACE (as proxy-status prints it), its pod name or its node id.

Options:
      --control-plane HOST:PORT   the control plane's debug address (default ${DEFAULT_CONTROL_PLANE})
      --admin HOST:PORT           read the proxy's own admin /config_dump instead (e.g. 127.0.0.2:15000)
  -o, --output FORMAT             table (default) or json
  -h, --help                      this help
`;

const ALIASES: Record<string, ProxyConfigKind> = { cluster: 'clusters', clusters: 'clusters', c: 'clusters', listener: 'listeners', listeners: 'listeners', l: 'listeners', route: 'routes', routes: 'routes', r: 'routes', endpoint: 'endpoints', endpoints: 'endpoints', ep: 'endpoints' };

export async function proxyConfigMain(argv: string[]): Promise<number> {
  let values, positionals;
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      options: { 'control-plane': { type: 'string' }, admin: { type: 'string' }, output: { type: 'string', short: 'o' }, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
    }));
  } catch (e) {
    process.stderr.write(`minimesh proxy-config: ${(e as Error).message}\n\n${PROXY_CONFIG_USAGE}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(PROXY_CONFIG_USAGE);
    return 0;
  }
  const kind = ALIASES[positionals[0] ?? ''];
  const proxy = positionals[1];
  if (!kind || (!proxy && !values.admin)) {
    process.stderr.write(`minimesh proxy-config: expected one of ${PROXY_CONFIG_KINDS.join('|')} and a PROXY (or --admin)\n\n${PROXY_CONFIG_USAGE}`);
    return 2;
  }
  try {
    const dump = values.admin
      ? await getJson(values.admin, '/config_dump')
      : await getJson(values['control-plane'] ?? DEFAULT_CONTROL_PLANE, `/debug/config_dump?proxyID=${encodeURIComponent(proxy!)}`);
    if (values.output === 'json') process.stdout.write(`${JSON.stringify(proxyConfigJson(kind, dump), null, 2)}\n`);
    else process.stdout.write(`${proxyConfigTable(kind, dump)}\n`);
    return 0;
  } catch (e) {
    process.stderr.write(`minimesh proxy-config: ${(e as Error).message}\n`);
    return 1;
  }
}
