/**
 * `minimesh proxy-status`: istioctl's table from the control plane's /debug/syncz:
 *   NAME  CLUSTER  CDS  LDS  EDS  RDS  VERSION   (SYNCED, NOT SENT, STALE, ERROR)
 */
import { parseArgs } from 'node:util';
import { renderTable } from '@minimesh/mesh';
import type { ProxySyncz } from '../server/syncz.js';
import { DEFAULT_CONTROL_PLANE, getJson } from './debug-client.js';

export const PROXY_STATUS_USAGE = `Usage: minimesh proxy-status [PROXY] [--control-plane HOST:PORT] [-o json]

The sync state of every proxy connected to the control plane (from its /debug/syncz):
SYNCED (sent and ACKed), NOT SENT, STALE (sent, not answered yet), ERROR (NACKed).

Options:
      --control-plane HOST:PORT   the control plane's debug address (default ${DEFAULT_CONTROL_PLANE})
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

export async function proxyStatusMain(argv: string[]): Promise<number> {
  let values, positionals;
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      options: { 'control-plane': { type: 'string' }, output: { type: 'string', short: 'o' }, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
    }));
  } catch (e) {
    process.stderr.write(`minimesh proxy-status: ${(e as Error).message}\n\n${PROXY_STATUS_USAGE}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(PROXY_STATUS_USAGE);
    return 0;
  }
  try {
    let entries = (await getJson(values['control-plane'] ?? DEFAULT_CONTROL_PLANE, '/debug/syncz')) as ProxySyncz[];
    if (positionals[0]) entries = entries.filter((e) => e.name === positionals[0] || e.proxy === positionals[0] || e.name.split('.')[0] === positionals[0]);
    if (values.output === 'json') process.stdout.write(`${JSON.stringify(entries, null, 2)}\n`);
    else {
      process.stdout.write(`${proxyStatusTable(entries)}\n`);
      for (const l of nackLines(entries)) process.stdout.write(`NACK ${l}\n`);
    }
    return 0;
  } catch (e) {
    process.stderr.write(`minimesh proxy-status: ${(e as Error).message}\n`);
    return 1;
  }
}
