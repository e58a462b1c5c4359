// The soak's config pushes: rewrite the watched VirtualService (a new response header value, so
// the control plane pushes a new route config over RDS), then poll the client sidecar's admin
// /config_dump until its routes carry the new value; records how long that took and the RDS
// version the sidecar then holds.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fetchText } from './soak-sampler.js';
import { pushYaml } from './soak-mesh.js';
import { sleep } from './stats.js';

export interface PushResult {
  n: number;
  /** seconds since the load started */
  t: number;
  /** ms from the file write until the sidecar held it; null: not within the deadline */
  reachedMs: number | null;
  /** the sidecar's route config version_info once it held the change */
  version: string | null;
}

/** The version_info of the route config holding `marker`, from an admin /config_dump body. */
export function routeVersionWith(configDump: string, marker: string): string | null | undefined {
  if (!configDump.includes(marker)) return undefined;
  try {
    const dump = JSON.parse(configDump) as { configs?: { dynamic_route_configs?: { version_info?: string; route_config?: unknown }[] }[] };
    for (const c of dump.configs ?? []) {
      for (const r of c.dynamic_route_configs ?? []) if (JSON.stringify(r.route_config).includes(marker)) return r.version_info ?? null;
    }
  } catch {
    return null;
  }
  return null;
}

export async function pushAndConfirm(configDir: string, n: number, adminBase: string, t: number, deadlineMs = 15_000): Promise<PushResult> {
  const started = Date.now();
  writeFileSync(join(configDir, 'virtual-service.yaml'), pushYaml(n));
  const marker = `"soak-push-${n}"`; // quoted: soak-push-1 must not match soak-push-10
  while (Date.now() - started < deadlineMs) {
    const body = await fetchText(`${adminBase}/config_dump`, 5000);
    if (body !== null) {
      const version = routeVersionWith(body, marker);
      if (version !== undefined) return { n, t, reachedMs: Date.now() - started, version };
    }
    await sleep(100);
  }
  return { n, t, reachedMs: null, version: null };
}
