/**
 * IST0145 ConflictingGateways: Gateways (of any namespace) with the same workload selector that
 * listen on the same port number for overlapping hosts (`*` overlaps everything, `*.example.com`
 * overlaps `a.example.com`); the protocol does not matter. Each Gateway of a conflicting pair
 * is reported, once per server, naming the others. Hosts are compared as written (a `ns/` prefix
 * is part of the host), as Istio's analyzer does.
 */
import { conflictingGateways, type AnalysisMessage } from './analysis-message.js';
import { field, hostsIntersect, records, selectorString, spec, stringMap, strings, type AnalysisContext } from './analysis-context.js';

interface Listener {
  readonly gateway: string;
  readonly hosts: readonly string[];
}

/** `selector~port` -> each Gateway's hosts there (the last server wins when a Gateway repeats a port). */
function listenersByKey(ctx: AnalysisContext): Map<string, Map<string, Listener>> {
  const byKey = new Map<string, Map<string, Listener>>();
  for (const gw of ctx.of('Gateway')) {
    const sel = selectorString(stringMap(spec(gw).selector));
    const gateway = `${gw.namespace}/${gw.name}`;
    for (const server of records(spec(gw).servers)) {
      const key = `${sel}~${String(field(server, 'port', 'number'))}`;
      const m = byKey.get(key) ?? new Map<string, Listener>();
      m.set(gateway, { gateway, hosts: strings(server.hosts) });
      byKey.set(key, m);
    }
  }
  return byKey;
}

export function analyzeConflictingGateways(ctx: AnalysisContext): AnalysisMessage[] {
  const byKey = listenersByKey(ctx);
  const out: AnalysisMessage[] = [];
  for (const gw of ctx.of('Gateway')) {
    const sel = selectorString(stringMap(spec(gw).selector));
    const self = `${gw.namespace}/${gw.name}`;
    for (const server of records(spec(gw).servers)) {
      const port = String(field(server, 'port', 'number'));
      const hosts = strings(server.hosts);
      const others = [...(byKey.get(`${sel}~${port}`)?.values() ?? [])]
        .filter((l) => l.gateway !== self && hosts.some((h) => l.hosts.some((o) => hostsIntersect(h, o))))
        .map((l) => l.gateway)
        .sort();
      if (others.length > 0) out.push(conflictingGateways(gw.origin, others.join(','), sel, port, hosts.join(',')));
    }
  }
  return out;
}
