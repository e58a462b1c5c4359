/**
 * The capture rules, in Istio's order and with Istio's chain names, as `iptables-restore` text.
 *
 *   PREROUTING -> ISTIO_INBOUND -> ISTIO_IN_REDIRECT (REDIRECT to 15006)     connections into the pod
 *   OUTPUT     -> ISTIO_OUTPUT  -> ISTIO_REDIRECT    (REDIRECT to 15001)     connections out of the pod
 *
 * Every rule we add lives in one of the four ISTIO_* chains, except the two jumps from the
 * built-in chains; that is what lets `--cleanup` remove exactly what we added.
 */
import type { CaptureOptions } from './capture-options.js';

export const CHAINS = {
  inbound: 'ISTIO_INBOUND',
  redirect: 'ISTIO_REDIRECT',
  inRedirect: 'ISTIO_IN_REDIRECT',
  output: 'ISTIO_OUTPUT',
} as const;

/** In the order Istio creates them. */
export const ALL_CHAINS: readonly string[] = [CHAINS.inbound, CHAINS.redirect, CHAINS.inRedirect, CHAINS.output];

export type IpFamily = 4 | 6;

/** HBONE (15008) is never redirected: Istio keeps the port free for ambient tunnels. */
const HBONE_PORT = 15008;

interface FamilyAddresses {
  /** The source the inbound side uses toward the app, so its traffic is not re-captured. */
  readonly inboundPassthroughSource: string;
  readonly localhost: string;
}

const ADDRESSES: Record<IpFamily, FamilyAddresses> = {
  4: { inboundPassthroughSource: '127.0.0.6/32', localhost: '127.0.0.1/32' },
  6: { inboundPassthroughSource: '::6/128', localhost: '::1/128' },
};

function isV6(cidr: string): boolean {
  return cidr.includes(':');
}

/** The nat table rules (`-N` / `-A` lines, without `*nat` and `COMMIT`). */
export function buildNatRules(o: CaptureOptions, family: IpFamily = 4): string[] {
  const a = ADDRESSES[family];
  const ofFamily = (cidrs: readonly string[]): string[] => cidrs.filter((c) => isV6(c) === (family === 6));
  const { inbound, redirect, inRedirect, output } = CHAINS;
  const r: string[] = ALL_CHAINS.map((c) => `-N ${c}`);
  r.push(`-A ${inbound} -p tcp --dport ${HBONE_PORT} -j RETURN`);
  r.push(`-A ${redirect} -p tcp -j REDIRECT --to-ports ${o.proxyPort}`);
  r.push(`-A ${inRedirect} -p tcp -j REDIRECT --to-ports ${o.inboundCapturePort}`);

  // Inbound: '*' captures every port but the excluded ones; a list captures only those.
  const captureInbound = o.includeInboundPorts === '*' || o.includeInboundPorts.length > 0;
  if (captureInbound) {
    r.push(`-A PREROUTING -p tcp -j ${inbound}`);
    for (const i of o.excludeInterfaces) r.push(`-A ${inbound} -i ${i} -j RETURN`);
    if (o.includeInboundPorts === '*') {
      for (const p of o.excludeInboundPorts) r.push(`-A ${inbound} -p tcp --dport ${p} -j RETURN`);
      r.push(`-A ${inbound} -p tcp -j ${inRedirect}`);
    } else {
      for (const p of o.includeInboundPorts) r.push(`-A ${inbound} -p tcp --dport ${p} -j ${inRedirect}`);
    }
  }

  // Outbound.
  r.push(`-A OUTPUT -j ${output}`);
  for (const i of o.excludeInterfaces) r.push(`-A ${output} -o ${i} -j RETURN`);
  for (const p of o.excludeOutboundPorts) r.push(`-A ${output} -p tcp --dport ${p} -j RETURN`);
  // The inbound side talks to the app from 127.0.0.6: never capture that.
  r.push(`-A ${output} -o lo -s ${a.inboundPassthroughSource} -j RETURN`);
  for (const [flag, id] of [
    ['--uid-owner', o.proxyUid],
    ['--gid-owner', o.proxyGid],
  ] as const) {
    // The proxy calling its own pod's address over lo: treat it as inbound.
    if (captureInbound) r.push(`-A ${output} -o lo ! -d ${a.localhost} -p tcp ! --dport ${HBONE_PORT} -m owner ${flag} ${id} -j ${inRedirect}`);
    // The app calling itself over lo (not through the pod's address): leave it alone.
    r.push(`-A ${output} -o lo -m owner ! ${flag} ${id} -j RETURN`);
    // The proxy's own connections are never captured: that is what lets it reach the destination.
    r.push(`-A ${output} -m owner ${flag} ${id} -j RETURN`);
  }
  r.push(`-A ${output} -d ${a.localhost} -j RETURN`);
  // Istio's order (run.go): excluded CIDRs, then the included ports (-q), then included CIDRs.
  for (const c of ofFamily(o.excludeOutboundCidrs)) r.push(`-A ${output} -d ${c} -j RETURN`);
  for (const p of o.includeOutboundPorts) r.push(`-A ${output} -p tcp --dport ${p} -j ${redirect}`);
  if (o.includeOutboundCidrs === '*') r.push(`-A ${output} -j ${redirect}`);
  else for (const c of ofFamily(o.includeOutboundCidrs)) r.push(`-A ${output} -d ${c} -j ${redirect}`);
  return r;
}

/** `iptables-restore` input for one table. */
export function restoreText(table: string, rules: readonly string[]): string {
  return `*${table}\n${rules.join('\n')}${rules.length ? '\n' : ''}COMMIT\n`;
}

/**
 * From `iptables-save -t nat` output, the rules that undo ours: delete the jumps from the
 * built-in chains into ISTIO_* chains, then flush and delete the ISTIO_* chains that exist.
 * Returns [] when there is nothing of ours (so cleanup twice is a no-op).
 */
export function buildCleanupRules(saved: string): string[] {
  const ours = new Set(ALL_CHAINS);
  const existing = new Set<string>();
  const jumps: string[] = [];
  for (const line of saved.split('\n')) {
    const decl = /^:(\S+)/.exec(line);
    if (decl && ours.has(decl[1])) existing.add(decl[1]);
    const rule = /^-A (\S+) (.*-j (\S+).*)$/.exec(line);
    if (rule && !ours.has(rule[1]) && ours.has(rule[3])) jumps.push(`-D ${rule[1]} ${rule[2]}`);
  }
  const chains = ALL_CHAINS.filter((c) => existing.has(c));
  return [...jumps, ...chains.map((c) => `-F ${c}`), ...chains.map((c) => `-X ${c}`)];
}
