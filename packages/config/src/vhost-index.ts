/**
 * Precompiled virtual-host lookup (Envoy's rules): exact domain, then the longest suffix
 * wildcard (`*.foo.com`, `*-bar.foo.com`), then the longest prefix wildcard (`foo.*`), then `*`.
 * A wildcard must match at least one character. Domains are lower case.
 */
import type { VirtualHostIndex, VirtualHostRt } from './runtime.js';

export function buildVirtualHostIndex(vhosts: readonly VirtualHostRt[]): VirtualHostIndex {
  const exact = new Map<string, VirtualHostRt>();
  const suffixes: { suffix: string; vh: VirtualHostRt }[] = [];
  const prefixes: { prefix: string; vh: VirtualHostRt }[] = [];
  let star: VirtualHostRt | undefined;
  for (const vh of vhosts) {
    for (const d of vh.domains) {
      if (d === '*') star ??= vh;
      else if (d.startsWith('*')) suffixes.push({ suffix: d.slice(1), vh });
      else if (d.endsWith('*')) prefixes.push({ prefix: d.slice(0, -1), vh });
      else if (!exact.has(d)) exact.set(d, vh);
    }
  }
  // Longest first; stable sort keeps config order among equal lengths.
  suffixes.sort((a, b) => b.suffix.length - a.suffix.length);
  prefixes.sort((a, b) => b.prefix.length - a.prefix.length);
  return { exact, suffixes, prefixes, star };
}
