/**
 * The options of the init program, with the flags of Istio's `istio-iptables`, so a pod spec
 * written for Istio (`-p 15001 -z 15006 -u 1337 -m REDIRECT -i '*' -x "" -b '*' -d 15090,15021,15020`)
 * works unchanged.
 */
import { isIP } from 'node:net';
import { parseArgs } from 'node:util';
import { PORTS, PROXY_GID, PROXY_UID } from '@minimesh/mesh';

export type InterceptionMode = 'REDIRECT' | 'TPROXY';

export interface CaptureOptions {
  /** `-p`: where outbound connections are redirected (the proxy's 15001). */
  readonly proxyPort: number;
  /** `-z`: where inbound connections are redirected (15006). */
  readonly inboundCapturePort: number;
  /** `-u`: the proxy's uid; its traffic is never captured. */
  readonly proxyUid: number;
  /** `-g`: the proxy's gid. */
  readonly proxyGid: number;
  /** `-m` */
  readonly mode: InterceptionMode;
  /** `-i`: outbound CIDRs to capture; '*' = all, empty = none. */
  readonly includeOutboundCidrs: '*' | readonly string[];
  /** `-x`: outbound CIDRs never captured. */
  readonly excludeOutboundCidrs: readonly string[];
  /** `-b`: inbound ports to capture; '*' = all, empty = none. */
  readonly includeInboundPorts: '*' | readonly number[];
  /** `-d`: inbound ports never captured (only meaningful with `-b '*'`). */
  readonly excludeInboundPorts: readonly number[];
  /** `-q`: outbound ports always captured, whatever the CIDR lists say. */
  readonly includeOutboundPorts: readonly number[];
  /** `-o`: outbound ports never captured. */
  readonly excludeOutboundPorts: readonly number[];
  /** `-c`: interfaces whose traffic is never captured. */
  readonly excludeInterfaces: readonly string[];
}

export const DEFAULT_CAPTURE_OPTIONS: CaptureOptions = {
  proxyPort: PORTS.outboundCapture,
  inboundCapturePort: PORTS.inboundCapture,
  proxyUid: PROXY_UID,
  proxyGid: PROXY_GID,
  mode: 'REDIRECT',
  includeOutboundCidrs: '*',
  excludeOutboundCidrs: [],
  includeInboundPorts: '*',
  excludeInboundPorts: [PORTS.prometheus, PORTS.health, PORTS.mergedMetrics],
  includeOutboundPorts: [],
  excludeOutboundPorts: [],
  excludeInterfaces: [],
};

/** What the command line asks for. */
export interface IptablesCommand {
  readonly options: CaptureOptions;
  readonly dryRun: boolean;
  readonly cleanup: boolean;
  /** Also program ip6tables (IPv6 CIDRs of -i/-x go there). */
  readonly ipv6: boolean;
}

export class IptablesUsageError extends Error {}

export const IPTABLES_USAGE = `Usage: minimesh iptables [options]

Installs the capture rules of a pod (Istio's istio-iptables flags).

Options:
  -p, --envoy-port PORT                  outbound capture port (default 15001)
  -z, --inbound-capture-port PORT        inbound capture port (default 15006)
  -u, --proxy-uid UID                    the proxy's uid, never captured (default 1337)
  -g, --proxy-gid GID                    the proxy's gid, never captured (default: the uid)
  -m, --istio-inbound-interception-mode  REDIRECT (TPROXY is not supported yet)
  -i, --istio-service-cidr CIDRS         outbound CIDRs to capture: '*' all, '' none (default '*')
  -x, --istio-service-exclude-cidr CIDRS outbound CIDRs never captured
  -b, --istio-inbound-ports PORTS        inbound ports to capture: '*' all, '' none (default '*')
  -d, --istio-local-exclude-ports PORTS  inbound ports never captured (default 15090,15021,15020)
  -q, --istio-local-outbound-ports-include PORTS  outbound ports always captured
  -o, --istio-local-outbound-ports-exclude PORTS  outbound ports never captured
  -c, --istio-exclude-interfaces IFACES  interfaces never captured
  -n, --dry-run                          print the iptables-restore text, change nothing
      --cleanup                          remove the rules (and only those) this program adds
      --ipv6                             also program ip6tables (not supported yet)
  -h, --help                             this help
`;

function list(s: string | undefined): string[] {
  if (s === undefined) return [];
  return s
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x !== '');
}

function port(s: string, flag: string): number {
  const n = Number(s);
  if (!/^\d+$/.test(s) || n < 1 || n > 65535) throw new IptablesUsageError(`${flag}: not a port: ${JSON.stringify(s)}`);
  return n;
}

function id(s: string, flag: string): number {
  if (!/^\d+$/.test(s)) throw new IptablesUsageError(`${flag}: not a numeric id: ${JSON.stringify(s)}`);
  return Number(s);
}

/** An address or address/prefix: net.isIP() for the address, 0-32 / 0-128 for the prefix. */
function cidr(c: string, flag: string): string {
  const bad = (): never => {
    throw new IptablesUsageError(`${flag}: not a CIDR: ${JSON.stringify(c)}`);
  };
  const [addr, prefix, ...more] = c.split('/');
  if (more.length > 0) bad();
  const family = isIP(addr);
  if (family === 0) bad();
  const max = family === 4 ? 32 : 128;
  if (prefix === undefined) return `${addr}/${max}`;
  if (!/^\d{1,3}$/.test(prefix) || Number(prefix) > max) bad();
  return `${addr}/${Number(prefix)}`;
}

function cidrs(s: string | undefined, flag: string): string[] {
  return list(s).map((c) => cidr(c, flag));
}

function ports(s: string | undefined, flag: string): number[] {
  return list(s).map((p) => port(p, flag));
}

const IFACE = /^[A-Za-z0-9_.@+-]{1,15}$/;

/** Parses the init program's flags; throws IptablesUsageError. Returns 'help' for -h. */
export function parseIptablesArgs(argv: string[]): IptablesCommand | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        'envoy-port': { type: 'string', short: 'p' },
        'inbound-capture-port': { type: 'string', short: 'z' },
        'proxy-uid': { type: 'string', short: 'u' },
        'proxy-gid': { type: 'string', short: 'g' },
        'istio-inbound-interception-mode': { type: 'string', short: 'm' },
        'istio-service-cidr': { type: 'string', short: 'i' },
        'istio-service-exclude-cidr': { type: 'string', short: 'x' },
        'istio-inbound-ports': { type: 'string', short: 'b' },
        'istio-local-exclude-ports': { type: 'string', short: 'd' },
        'istio-local-outbound-ports-include': { type: 'string', short: 'q' },
        'istio-local-outbound-ports-exclude': { type: 'string', short: 'o' },
        'istio-exclude-interfaces': { type: 'string', short: 'c' },
        'dry-run': { type: 'boolean', short: 'n' },
        cleanup: { type: 'boolean' },
        ipv6: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    });
  } catch (e) {
    throw new IptablesUsageError((e as Error).message);
  }
  const v = parsed.values;
  if (v.help) return 'help';
  // The proxy's listeners bind 0.0.0.0 and the original-dst addon reads SOL_IP only: IPv6
  // capture cannot work end to end yet, so say so instead of installing half of it.
  if (v.ipv6) throw new IptablesUsageError('--ipv6 is not supported by minimesh yet (IPv4 capture only)');
  const d = DEFAULT_CAPTURE_OPTIONS;
  const mode = (v['istio-inbound-interception-mode'] ?? 'REDIRECT').toUpperCase();
  if (mode === 'TPROXY') throw new IptablesUsageError('-m TPROXY is not supported by minimesh yet (use REDIRECT)');
  if (mode !== 'REDIRECT') throw new IptablesUsageError(`-m: unknown interception mode ${JSON.stringify(mode)} (REDIRECT)`);
  const uid = v['proxy-uid'] !== undefined ? id(v['proxy-uid'], '-u') : d.proxyUid;
  const gid = v['proxy-gid'] !== undefined ? id(v['proxy-gid'], '-g') : uid;
  const inc = v['istio-service-cidr'];
  const inb = v['istio-inbound-ports'];
  const ifaces = list(v['istio-exclude-interfaces']);
  for (const i of ifaces) if (!IFACE.test(i)) throw new IptablesUsageError(`-c: not an interface name: ${JSON.stringify(i)}`);
  const options: CaptureOptions = {
    proxyPort: v['envoy-port'] !== undefined ? port(v['envoy-port'], '-p') : d.proxyPort,
    inboundCapturePort: v['inbound-capture-port'] !== undefined ? port(v['inbound-capture-port'], '-z') : d.inboundCapturePort,
    proxyUid: uid,
    proxyGid: gid,
    mode: 'REDIRECT',
    includeOutboundCidrs: inc === undefined || inc.trim() === '*' ? '*' : cidrs(inc, '-i'),
    excludeOutboundCidrs: cidrs(v['istio-service-exclude-cidr'], '-x'),
    includeInboundPorts: inb === undefined || inb.trim() === '*' ? '*' : ports(inb, '-b'),
    excludeInboundPorts: v['istio-local-exclude-ports'] !== undefined ? ports(v['istio-local-exclude-ports'], '-d') : d.excludeInboundPorts,
    includeOutboundPorts: ports(v['istio-local-outbound-ports-include'], '-q'),
    excludeOutboundPorts: ports(v['istio-local-outbound-ports-exclude'], '-o'),
    excludeInterfaces: ifaces,
  };
  return { options, dryRun: v['dry-run'] === true, cleanup: v.cleanup === true, ipv6: false };
}
