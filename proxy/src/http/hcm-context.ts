/**
 * What a request needs from its listener's config, captured when the request starts, so
 * that a config swap never changes a request in flight.
 */
import type { HttpConnectionManagerRt } from '@minimesh/config/runtime';
import type { HttpStats } from '../observability/stats.js';
import type { AccessLogWriter } from '../observability/access-log.js';
import type { ClusterManager } from '../upstream/cluster-manager.js';
import type { HttpMetricsScope, IstioMetrics } from '../observability/istio/istio-metrics.js';
import type { RbacRun } from '../security/rbac-filter.js';
import type { JwtAuthnRun } from '../security/jwt/jwt-filter.js';
import type { CodecStats } from './codec/underscore-headers.js';
import type { FaultRun } from './fault-filter.js';
import type { CorsStats } from './cors-filter.js';

export interface HcmContext {
  readonly hcm: HttpConnectionManagerRt;
  readonly stats: HttpStats;
  readonly clusters: ClusterManager;
  readonly accessLog: AccessLogWriter;
  /** `server` header value for OVERWRITE / APPEND_IF_ABSENT, precomputed. */
  readonly serverName: string;
  /** Istio's metrics and peer identity (the proxy's, and the peers seen). */
  readonly istio: IstioMetrics;
  /** Set when the connection manager has `istio.stats`. */
  readonly istioStats: HttpMetricsScope | undefined;
  /** The connection manager's RBAC filters (undefined: none). */
  readonly rbac?: readonly RbacRun[];
  /** The connection manager's `envoy.filters.http.jwt_authn` (undefined: none). */
  readonly jwt?: JwtAuthnRun;
  /** The codecs' counters, when `headers_with_underscores_action` is not ALLOW. */
  readonly codecStats?: { readonly http1: CodecStats; readonly http2: CodecStats };
  /** The connection manager's `envoy.filters.http.fault` (undefined: not in its chain). */
  readonly fault?: FaultRun;
  /** The connection manager's `envoy.filters.http.cors`: its stats (undefined: not in its chain). */
  readonly cors?: CorsStats;
}

import type { VirtualListenerLookup } from '../tcp/virtual-listener.js';

/** Proxy-wide state every connection reads. */
export interface ProxyState {
  /** Set on SIGTERM: responses say `connection: close`, idle connections close. */
  draining: boolean;
  /** The `bind_to_port: false` listener for an original destination (tcp/virtual-listener.ts). */
  virtualListener?: VirtualListenerLookup;
}
