/** Bootstrap -> RuntimeConfig. */
import type { Bootstrap } from '@minimesh/api';
import { allowOnly, join, structToJson, Errors } from './errors.js';
import { compileClusterInto } from './compile-cluster.js';
import { compileListenerInto } from './compile-listener.js';
import { checkRouteClusters } from './check-references.js';
import { listenerHcms } from './listener-hcms.js';
import { compileSocketAddress } from './socket-address.js';
import type { AdminRt, ClusterRt, CompileResult, ConfigError, ListenerRt, NodeInfo, RuntimeConfig } from './runtime.js';

/**
 * Top-level bootstrap fields accepted and ignored because they do not change how traffic is
 * handled: stats naming/flushing and watchdogs (minimesh has its own stats), `node` extras.
 * `layered_runtime` and `overload_manager` are accepted only in forms that change nothing
 * (see below). `dynamic_resources`, `cluster_manager`, tracing, stats sinks etc. are rejected.
 */
const IGNORED_TOP_LEVEL = ['stats_config', 'stats_flush_interval', 'watchdog', 'watchdogs', 'enable_dispatcher_stats', 'stats_server_version_override'];

export function compileBootstrap(b: Bootstrap, version = 'static'): CompileResult<RuntimeConfig> {
  const errors = new Errors();
  const warnings: ConfigError[] = [];
  allowOnly(b, '', ['node', 'admin', 'static_resources', 'layered_runtime', 'overload_manager', ...IGNORED_TOP_LEVEL], errors, ['stats_flush'], {
    dynamic_resources: 'dynamic_resources (xDS) is not supported by minimesh yet in a bootstrap',
  });
  const node = compileNode(b, errors);
  const admin = compileAdmin(b, errors);
  checkRuntime(b, errors);
  const sr = b.static_resources;
  allowOnly(sr, 'static_resources', ['listeners', 'clusters'], errors, [], { secrets: 'secrets (TLS) are not supported by minimesh yet' });
  const listeners: ListenerRt[] = [];
  const listenerPaths: string[] = [];
  const names = new Set<string>();
  (sr?.listeners ?? []).forEach((l, i) => {
    const p = `static_resources.listeners[${i}]`;
    if (l.name && names.has(l.name)) errors.add(join(p, 'name'), `duplicate listener name ${JSON.stringify(l.name)}`);
    names.add(l.name ?? '');
    const lr = compileListenerInto(l, p, errors);
    const withRds = lr ? listenerHcms(lr).filter((h) => h.hcm.rdsName !== undefined) : [];
    for (const h of withRds) errors.add(join(p, `${h.path}.rds`), 'rds needs dynamic_resources (xDS): give route_config inline in a bootstrap');
    if (lr && withRds.length === 0) {
      listeners.push(lr);
      listenerPaths.push(p);
    }
  });
  const clusters = new Map<string, ClusterRt>();
  (sr?.clusters ?? []).forEach((c, i) => {
    const p = `static_resources.clusters[${i}]`;
    const cr = compileClusterInto(c, p, errors, warnings);
    if (clusters.has(cr.name)) errors.add(join(p, 'name'), `duplicate cluster name ${JSON.stringify(cr.name)}`);
    else clusters.set(cr.name, cr);
  });
  listeners.forEach((l, i) => {
    for (const h of listenerHcms(l)) for (const e of checkRouteClusters(h.hcm.routeConfig, clusters, join(listenerPaths[i], `${h.path}.route_config`))) errors.add(e.path, e.message);
  });
  if (errors.count > 0) return { ok: false, errors: errors.list };
  return { ok: true, value: { version, node, admin, listeners, clusters }, warnings };
}

function compileNode(b: Bootstrap, errors: Errors): NodeInfo {
  const n = b.node;
  allowOnly(n, 'node', ['id', 'cluster', 'metadata', 'locality', 'user_agent_name', 'user_agent_version', 'user_agent_build_version', 'extensions', 'client_features'], errors, ['user_agent_version_type']);
  return { id: n?.id ?? '', cluster: n?.cluster ?? '', metadata: n?.metadata ? structToJson(n.metadata) : {} };
}

function compileAdmin(b: Bootstrap, errors: Errors): AdminRt | undefined {
  if (!b.admin) return undefined;
  // Admin access logs and the profile path do not affect traffic: accepted, ignored.
  allowOnly(b.admin, 'admin', ['address', 'access_log', 'access_log_path', 'profile_path'], errors);
  if (!b.admin.address) return undefined;
  const a = compileSocketAddress(b.admin.address, 'admin.address', errors);
  return a ? { address: a.address, port: a.port } : undefined;
}

function checkRuntime(b: Bootstrap, errors: Errors): void {
  // A runtime layer could override any feature flag; only admin layers (empty until
  // someone writes to them) and empty static layers change nothing.
  (b.layered_runtime?.layers ?? []).forEach((layer, i) => {
    const p = `layered_runtime.layers[${i}]`;
    allowOnly(layer, p, ['name', 'admin_layer', 'static_layer'], errors, ['layer_specifier']);
    if (layer.static_layer && Object.keys(structToJson(layer.static_layer)).length > 0) {
      errors.add(join(p, 'static_layer'), 'runtime overrides are not supported by minimesh');
    }
  });
  // An overload manager without actions never acts.
  allowOnly(b.overload_manager, 'overload_manager', ['refresh_interval', 'resource_monitors'], errors, [], {
    actions: 'overload actions are not supported by minimesh',
    loadshed_points: 'load shed points are not supported by minimesh',
  });
}
