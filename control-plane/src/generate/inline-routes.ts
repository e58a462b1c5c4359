/**
 * For a proxy without RDS (minimesh's `compileListener` takes route_config inline only):
 * copies each listener with its `rds` replaced by the named RouteConfiguration.
 */
import type { JsonObject } from './envoy-json.js';

export function inlineRoutes(listeners: readonly JsonObject[], routes: readonly JsonObject[]): JsonObject[] {
  const byName = new Map(routes.map((r) => [r.name as string, r]));
  return listeners.map((l) => {
    const copy = structuredClone(l) as JsonObject & { filter_chains?: { filters?: { typed_config?: JsonObject }[] }[] };
    for (const fc of copy.filter_chains ?? []) {
      for (const f of fc.filters ?? []) {
        const tc = f.typed_config;
        const rds = tc?.rds as { route_config_name?: string } | undefined;
        if (!tc || !rds) continue;
        const rc = byName.get(rds.route_config_name ?? '');
        if (!rc) throw new Error(`listener ${String(l.name)}: route configuration ${JSON.stringify(rds.route_config_name)} not generated`);
        delete tc.rds;
        tc.route_config = structuredClone(rc);
      }
    }
    return copy;
  });
}
