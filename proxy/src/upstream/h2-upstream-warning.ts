/**
 * TEMPORARY, until the HTTP/2 session pool (upstream/h2/) is wired into the router: a cluster
 * whose config asks for HTTP/2 upstream (`explicit_http_config.http2_protocol_options`) is
 * still reached over HTTP/1.1 by this build. Rather than doing so silently, the cluster manager
 * logs it once per cluster name when a config installs it. (`use_downstream_protocol_config`,
 * which every sniffed port gets, is not warned about: HTTP/1.1 downstream means HTTP/1.1
 * upstream, which is what happens.) Delete this file and its call in cluster-manager.ts once
 * the pool is wired.
 */
import type { ClusterRt } from '@minimesh/config/runtime';
import { log } from '../log.js';

export class H2UpstreamWarnings {
  private readonly warned = new Set<string>();

  constructor(private readonly warn: (msg: string, fields: Record<string, unknown>) => void = (msg, fields) => log.warn(fields, msg)) {}

  /** Logs the warning for `cfg` unless this cluster name was warned about already; true when it logged. */
  check(cfg: ClusterRt): boolean {
    if (cfg.upstreamProtocol !== 'http2' || this.warned.has(cfg.name)) return false;
    this.warned.add(cfg.name);
    this.warn(`cluster ${cfg.name} asks for HTTP/2 upstream; this proxy build speaks HTTP/1.1 upstream until the h2 pool is wired`, { cluster: cfg.name, upstreamProtocol: cfg.upstreamProtocol });
    return true;
  }
}
