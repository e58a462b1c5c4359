/** The HTTP connection managers of a listener: its one chain's, or each of its filter chains'. */
import type { HttpConnectionManagerRt, ListenerRt } from './runtime.js';

const ONE_CHAIN_PATH = 'filter_chains[0].filters[0].typed_config';

/** Every HCM of the listener, with the config path of each (`filter_chains[i].filters[0].typed_config`). */
export function listenerHcms(l: ListenerRt): { hcm: HttpConnectionManagerRt; path: string }[] {
  if (l.filterChains === undefined) return l.hcm ? [{ hcm: l.hcm, path: ONE_CHAIN_PATH }] : [];
  const out: { hcm: HttpConnectionManagerRt; path: string }[] = [];
  l.filterChains.forEach((c, i) => {
    if (c.hcm) out.push({ hcm: c.hcm, path: `filter_chains[${i}].filters[0].typed_config` });
  });
  return out;
}

/** The listener with each HCM replaced by `f(hcm, path)` (the same object when nothing changed). */
export function mapListenerHcms(l: ListenerRt, f: (hcm: HttpConnectionManagerRt, path: string) => HttpConnectionManagerRt): ListenerRt {
  if (l.filterChains === undefined) return l.hcm ? { ...l, hcm: f(l.hcm, ONE_CHAIN_PATH) } : l;
  return { ...l, filterChains: l.filterChains.map((c, i) => (c.hcm ? { ...c, hcm: f(c.hcm, `filter_chains[${i}].filters[0].typed_config`) } : c)) };
}
