/**
 * `minimesh proxy-status`: istioctl's table from the control plane's /debug/syncz:
 *   NAME  CLUSTER  CDS  LDS  EDS  RDS  VERSION   (SYNCED, NOT SENT, STALE, ERROR)
 */
import { parseArgs } from 'node:util';
import { PORTS, renderTable } from '@minimesh/mesh';
import type { ProxySyncz } from '../server/syncz.js';
import { CONTROL_PLANE_LOOKUP, DEFAULT_CONTROL_PLANE, getJson } from './debug-client.js';
import { KUBE_FLAG_OPTIONS, kubeFlagsUsage, kubeFlagsOf, PROCESS_IO, reachControlPlane, viaTarget, type CliIo, type Target } from './control-plane-target.js';

export const PROXY_STATUS_USAGE = `Usage: minimesh proxy-status [PROXY] [--control-plane HOST:PORT] [-o json]

The sync state of every proxy connected to the control plane (from its /debug/syncz):
SYNCED (sent and ACKed), NOT SENT, STALE (sent, not answered yet), ERROR (NACKed).
${CONTROL_PLANE_LOOKUP}
Options:
      --control-plane HOST:PORT   the control plane's debug address (alias --control-plane-address)
${kubeFlagsUsage(34)}
  -o, --output FORMAT             table (default) or json
  -h, --help                      this help
`;

export const PROXY_STATUS_HEADERS = ['NAME', 'CLUSTER', 'CDS', 'LDS', 'EDS', 'RDS', 'VERSION'] as const;

export function proxyStatusTable(entries: readonly ProxySyncz[]): string {
  const rows = [...entries]
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((e) => [e.name, e.cluster || '-', e.types.CDS.state, e.types.LDS.state, e.types.EDS.state, e.types.RDS.state, e.version]);
  return renderTable(PROXY_STATUS_HEADERS, rows, { left: 'all', rule: false, gap: 3 });
}

/** The NACKs behind ERROR cells, one line each, to print under the table. */
export function nackLines(entries: readonly ProxySyncz[]): string[] {
  const out: string[] = [];
  for (const e of entries)
    for (const [type, t] of Object.entries(e.types)) if (t.state === 'ERROR' && t.last_nack) out.push(`${e.name} ${type} ${t.last_nack.version}: ${t.last_nack.message}`);
  return out;
}

export async function proxyStatusMain(argv: string[], io: CliIo = PROCESS_IO): Promise<number> {
  let values, positionals;
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      options: { 'control-plane': { type: 'string' }, 'control-plane-address': { type: 'string' }, ...KUBE_FLAG_OPTIONS, output: { type: 'string', short: 'o' }, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
    }));
  } catch (e) {
    io.err(`minimesh proxy-status: ${(e as Error).message}\n\n${PROXY_STATUS_USAGE}`);
    return 2;
  }
  if (values.help) {
    io.out(PROXY_STATUS_USAGE);
    return 0;
  }
  let target: Target | undefined;
  try {
    target = await reachControlPlane({
      explicit: values['control-plane'] ?? values['control-plane-address'],
      flags: kubeFlagsOf(values),
      remotePort: PORTS.controlPlaneDebug,
      localDefault: io.localAddress ?? DEFAULT_CONTROL_PLANE,
      onError: (m) => io.err(`minimesh proxy-status: ${m}\n`),
      env: io.env,
      home: io.home,
    });
    let entries = (await getJson(target.hostPort, '/debug/syncz')) as ProxySyncz[];
    if (positionals[0]) entries = entries.filter((e) => e.name === positionals[0] || e.proxy === positionals[0] || e.name.split('.')[0] === positionals[0]);
    if (values.output === 'json') io.out(`${JSON.stringify(entries, null, 2)}\n`);
    else {
      io.out(`${proxyStatusTable(entries)}\n`);
      for (const l of nackLines(entries)) io.out(`NACK ${l}\n`);
    }
    return 0;
  } catch (e) {
    io.err(`minimesh proxy-status: ${viaTarget((e as Error).message, target, PORTS.controlPlaneDebug)}\n`);
    return 1;
  } finally {
    await target?.close();
  }
}
