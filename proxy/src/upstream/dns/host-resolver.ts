/**
 * Name resolution for STRICT_DNS / LOGICAL_DNS clusters. The default asks the system
 * (getaddrinfo: /etc/hosts, then the configured name servers), as Envoy's getaddrinfo
 * resolver does; given name servers (`--dns-resolvers`, Envoy's `typed_dns_resolver_config`
 * resolvers), it queries them directly. IP literals resolve to themselves.
 */
import dns from 'node:dns';
import { isIP } from 'node:net';
import type { ClusterRt } from '@minimesh/config/runtime';

export type DnsLookupFamily = NonNullable<ClusterRt['dnsLookupFamily']>;

export interface HostResolver {
  /** The addresses of `host` (never empty: no address is an error). */
  resolve(host: string, family: DnsLookupFamily): Promise<string[]>;
}

/** `host[:port]` name server addresses, as node:dns `setServers` takes them. */
export function createHostResolver(servers?: readonly string[]): HostResolver {
  if (servers === undefined || servers.length === 0) return new SystemResolver();
  return new ServerResolver(servers);
}

function literal(host: string): string[] | undefined {
  return isIP(host) !== 0 ? [host] : undefined;
}

function nonEmpty(host: string, list: string[]): string[] {
  if (list.length === 0) throw new Error(`${host}: no address`);
  return list;
}

class SystemResolver implements HostResolver {
  async resolve(host: string, family: DnsLookupFamily): Promise<string[]> {
    const lit = literal(host);
    if (lit) return lit;
    const all = async (f: 0 | 4 | 6): Promise<string[]> => (await dns.promises.lookup(host, { all: true, family: f })).map((a) => a.address);
    return nonEmpty(host, await byFamily(family, () => all(4), () => all(6)));
  }
}

class ServerResolver implements HostResolver {
  private readonly resolver = new dns.promises.Resolver({ timeout: 2000, tries: 2 });

  constructor(servers: readonly string[]) {
    this.resolver.setServers([...servers]);
  }

  async resolve(host: string, family: DnsLookupFamily): Promise<string[]> {
    const lit = literal(host);
    if (lit) return lit;
    return nonEmpty(host, await byFamily(family, () => this.resolver.resolve4(host), () => this.resolver.resolve6(host)));
  }
}

/** Envoy's lookup families: AUTO prefers IPv6, V4_PREFERRED IPv4, ALL takes both. */
async function byFamily(family: DnsLookupFamily, v4: () => Promise<string[]>, v6: () => Promise<string[]>): Promise<string[]> {
  const tryOr = async (f: () => Promise<string[]>): Promise<string[]> => f().catch(() => []);
  switch (family) {
    case 'V4_ONLY':
      return v4();
    case 'V4_PREFERRED': {
      const a = await tryOr(v4);
      return a.length > 0 ? a : v6();
    }
    case 'ALL': {
      const [a, b] = await Promise.all([tryOr(v4), tryOr(v6)]);
      if (a.length + b.length > 0) return [...a, ...b];
      return v4();
    }
    default: {
      const a = await tryOr(v6);
      return a.length > 0 ? a : v4();
    }
  }
}
