/**
 * TEMPORARY, until the HTTP/2 session pool (upstream/h2/) is wired into the router: a cluster
 * whose config asks for HTTP/2 upstream (`explicit_http_config.http2_protocol_options`, or
 * `use_downstream_protocol_config`) is still reached over HTTP/1.1 by this build. Rather than
 * doing so silently, the cluster manager logs it once per cluster name when a config installs
 * it. Delete this file and its call in cluster-manager.ts once the pool is wired.
 */
import type { ClusterRt } from '@minimesh/config/runtime';
import { log } from '../log.js';

export class H2UpstreamWarnings {
  private readonly warned = new Set<string>();

  constructor(private readonly warn: (msg: string, fields: Record<string, unknown>) => void = (msg, fields) => log.warn(fields, msg)) {}

  /** Logs the warning for `cfg` unless this cluster name was warned about already; true when it logged. */
  check(cfg: ClusterRt): boolean {
    if (cfg.upstreamProtocol === 'http1' || this.warned.has(cfg.name)) return false;
    this.warned.add(cfg.name);
    const how = cfg.upstreamProtocol === 'http2' ? 'explicit_http_config.http2_protocol_options' : 'use_downstream_protocol_config';
    this.warn(`cluster ${cfg.name} asks for HTTP/2 upstream; this proxy build speaks HTTP/1.1 upstream until the h2 pool is wired`, { cluster: cfg.name, upstreamProtocol: cfg.upstreamProtocol, config: how });
    return true;
  }
}
