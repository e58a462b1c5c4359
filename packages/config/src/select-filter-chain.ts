/**
 * Envoy's filter chain selection: criteria in a fixed order (destination port, server name,
 * transport protocol, application protocols), each narrowing the candidates to the most
 * specific group that matches (an exact value before a wildcard before "any"). There is no
 * going back: when the most specific group at one step has no match further on, the
 * connection has no chain (and is closed), even if a less specific chain would have matched.
 */
import type { FilterChainMatchRt } from './tls-runtime.js';

/** What the listener filters learnt of a connection. */
export interface ConnectionFacts {
  readonly destinationPort: number;
  /** SNI, lower case ('' = none). */
  readonly serverName: string;
  /** `tls` or `raw_buffer`. */
  readonly transportProtocol: string;
  /** The client's ALPN list (TLS), or what http_inspector set (`http/1.1`, `h2c`). */
  readonly applicationProtocols: readonly string[];
}

export function selectFilterChain<C extends { readonly match: FilterChainMatchRt }>(chains: readonly C[], f: ConnectionFacts): C | undefined {
  let c = narrow(chains, (m) => m.destinationPort === f.destinationPort, (m) => m.destinationPort === undefined);
  c = byServerName(c, f.serverName);
  c = narrow(c, (m) => m.transportProtocol === f.transportProtocol, (m) => m.transportProtocol === '');
  c = byApplicationProtocol(c, f.applicationProtocols);
  return c[0];
}

function narrow<C extends { readonly match: FilterChainMatchRt }>(chains: readonly C[], exact: (m: FilterChainMatchRt) => boolean, any: (m: FilterChainMatchRt) => boolean): readonly C[] {
  const e = chains.filter((c) => exact(c.match));
  return e.length > 0 ? e : chains.filter((c) => any(c.match));
}

/** Exact name, then the longest matching `*.suffix`, then chains without server_names. */
function byServerName<C extends { readonly match: FilterChainMatchRt }>(chains: readonly C[], sni: string): readonly C[] {
  if (sni !== '') {
    const exact = chains.filter((c) => c.match.serverNames.includes(sni));
    if (exact.length > 0) return exact;
    let best = 0;
    let out: C[] = [];
    for (const c of chains) {
      for (const n of c.match.serverNames) {
        if (!n.startsWith('*.') || !sni.endsWith(n.slice(1)) || n.length < best) continue;
        if (n.length > best) out = [];
        best = n.length;
        if (!out.includes(c)) out.push(c);
      }
    }
    if (out.length > 0) return out;
  }
  return chains.filter((c) => c.match.serverNames.length === 0);
}

/** The client's protocols in its order: the first one some chain lists wins; else chains that list none. */
function byApplicationProtocol<C extends { readonly match: FilterChainMatchRt }>(chains: readonly C[], protocols: readonly string[]): readonly C[] {
  for (const p of protocols) {
    const m = chains.filter((c) => c.match.applicationProtocols.includes(p));
    if (m.length > 0) return m;
  }
  return chains.filter((c) => c.match.applicationProtocols.length === 0);
}
