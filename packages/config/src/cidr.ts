/** CIDR ranges (Envoy's `core.v3.CidrRange`) for IPv4 and IPv6, on node:net's BlockList. */
import net from 'node:net';

export type CidrMatcher = (address: string) => boolean;

/** An IPv4-mapped IPv6 address (`::ffff:10.0.0.1`, as dual-stack sockets report) -> its IPv4 form. */
export function plainAddress(address: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return m !== null ? m[1] : address;
}

/** `prefix`/`len` -> a matcher, or an error message. */
export function compileCidr(prefix: string, len: number | undefined): CidrMatcher | string {
  const family = net.isIP(prefix);
  if (family === 0) return `${JSON.stringify(prefix)} is not an IP address`;
  const type = family === 4 ? 'ipv4' : 'ipv6';
  const max = family === 4 ? 32 : 128;
  const bits = len ?? max;
  if (!Number.isInteger(bits) || bits < 0 || bits > max) return `prefix_len ${bits} is out of range for ${type} (0..${max})`;
  const list = new net.BlockList();
  list.addSubnet(prefix, bits, type);
  return (address: string): boolean => {
    const a = plainAddress(address);
    const f = net.isIP(a);
    if (f === 0 || f !== family) return false;
    return list.check(a, type);
  };
}
