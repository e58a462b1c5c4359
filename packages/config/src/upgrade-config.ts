/**
 * `upgrade_configs` of a connection manager and of a route (WebSocket and other HTTP/1.1
 * upgrades), and Envoy's rule for whether a request's upgrade goes ahead.
 */
import type { HttpConnectionManager, RouteAction } from '@minimesh/api';
import { wrappedBool } from './duration.js';
import { allowOnly, join, type Errors } from './errors.js';
import type { UpgradeConfigRt } from './protocol-runtime.js';

type HcmUpgradeConfig = NonNullable<HttpConnectionManager['upgrade_configs']>[number];
type RouteUpgradeConfig = NonNullable<RouteAction['upgrade_configs']>[number];

/** A token as RFC 9110 §5.6.2 defines it (upgrade protocol names are tokens). */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

function compileList<T extends { upgrade_type?: string; enabled?: { value?: boolean } | null; connect_config?: unknown }>(
  list: readonly T[] | undefined,
  path: string,
  errors: Errors,
  check: (u: T, p: string) => void,
): UpgradeConfigRt[] {
  const out: UpgradeConfigRt[] = [];
  (list ?? []).forEach((u, i) => {
    const p = `${path}[${i}]`;
    check(u, p);
    const type = (u.upgrade_type ?? '').toLowerCase();
    if (!TOKEN.test(type)) {
      errors.add(join(p, 'upgrade_type'), `must be an upgrade protocol name such as websocket (got ${JSON.stringify(u.upgrade_type ?? '')})`);
      return;
    }
    if (out.some((o) => o.upgradeType === type)) {
      errors.add(join(p, 'upgrade_type'), `duplicate upgrade type ${JSON.stringify(u.upgrade_type)}`);
      return;
    }
    const terminate = u.connect_config !== undefined && u.connect_config !== null;
    if (terminate && type !== 'connect') errors.add(join(p, 'connect_config'), 'only an upgrade_type CONNECT entry may have connect_config');
    out.push({ upgradeType: type, enabled: wrappedBool(u.enabled, true), ...(terminate && type === 'connect' ? { terminateConnect: true } : {}) });
  });
  return out;
}

/** An HCM's `upgrade_configs` (custom upgrade filter chains are not supported). */
export function compileHcmUpgradeConfigs(list: readonly HcmUpgradeConfig[] | undefined, path: string, errors: Errors): UpgradeConfigRt[] {
  return compileList(list, path, errors, (u, p) =>
    allowOnly(u, p, ['upgrade_type', 'enabled'], errors, [], { filters: 'a filter chain per upgrade type is not supported by minimesh' }),
  );
}

/**
 * A route's `upgrade_configs`. `connect_config` on the CONNECT entry terminates CONNECT at
 * the proxy: the 200 goes to the client and the tunnel's bytes go to the route's cluster as
 * TCP (its `proxy_protocol_config` and `allow_post` are not supported).
 */
export function compileRouteUpgradeConfigs(list: readonly RouteUpgradeConfig[] | undefined, path: string, errors: Errors): UpgradeConfigRt[] {
  return compileList(list, path, errors, (u, p) => {
    allowOnly(u, p, ['upgrade_type', 'enabled', 'connect_config'], errors);
    if (u.connect_config) {
      allowOnly(u.connect_config, join(p, 'connect_config'), [], errors, [], {
        proxy_protocol_config: 'proxy_protocol_config is not supported by minimesh',
        allow_post: 'allow_post (CONNECT as POST) is not supported by minimesh',
      });
    }
  });
}

/** The route terminates CONNECT (its CONNECT upgrade entry has connect_config, enabled). */
export function terminatesConnect(route: readonly UpgradeConfigRt[] | undefined): boolean {
  const u = route?.find((x) => x.upgradeType === 'connect');
  return u !== undefined && u.enabled && u.terminateConnect === true;
}

/**
 * Whether a request asking for `upgradeType` (the `Upgrade` header's protocol, or `connect`
 * for a CONNECT request) may be upgraded, as Envoy decides: the route's entry for that type
 * wins (disabled refuses, enabled allows even when the HCM lists nothing); otherwise the HCM
 * must list the type, enabled. Envoy answers a refused upgrade with a local 403 (response code
 * details `upgrade_failed`, stat `downstream_rq_ws_on_non_ws_route`) and closes the connection
 * after it.
 */
export function upgradeAllowed(hcm: readonly UpgradeConfigRt[], route: readonly UpgradeConfigRt[] | undefined, upgradeType: string): boolean {
  const type = upgradeType.toLowerCase();
  const onRoute = route?.find((u) => u.upgradeType === type);
  if (onRoute) return onRoute.enabled;
  return hcm.find((u) => u.upgradeType === type)?.enabled ?? false;
}
