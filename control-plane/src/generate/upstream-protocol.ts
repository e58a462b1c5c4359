/**
 * An outbound cluster's HttpProtocolOptions (`typed_extension_protocol_options`), as Istio's
 * cluster builder makes them (`setUpstreamProtocol`, `applyH2Upgrade`, `applyConnectionPool`,
 * `clusterWrapper.build`), in the same order:
 *   1. the port's protocol: HTTP2 and GRPC ports speak HTTP/2 upstream
 *      (`explicit_http_config.http2_protocol_options: {}`); a sniffed port on a sidecar uses
 *      the downstream protocol (`use_downstream_protocol_config`);
 *   2. h2 upgrade (`shouldH2Upgrade`): the DestinationRule's `h2UpgradePolicy`, else the
 *      mesh's, for explicit HTTP ports only;
 *   3. the connection pool: idle timeout and max requests per connection (common options),
 *      `maxConcurrentStreams` when the cluster is HTTP/2 by then, `useClientProtocol`
 *      (the downstream protocol again);
 *   4. options without a protocol get `explicit_http_config.http_protocol_options: {}`, which
 *      Envoy requires.
 * GRPC-Web ports differ from Istio on purpose: minimesh has no gRPC-Web filter, so they are
 * served as plain HTTP (HTTP/1.1 upstream) and the validator warns about them.
 */
import type { ConnectionPoolSettings, Protocol } from '@minimesh/kube';
import { compact, protoDuration, TYPE, type JsonObject } from './envoy-json.js';

export const HTTP_PROTOCOL_OPTIONS_KEY = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';

/** Mesh config `h2UpgradePolicy` (Istio's default DO_NOT_UPGRADE). */
export type MeshH2UpgradePolicy = 'DO_NOT_UPGRADE' | 'UPGRADE';

type HttpPool = ConnectionPoolSettings['http'];

/** HTTP2 and GRPC ports: HTTP/2 to the endpoints (Istio's IsHTTP2, without GRPC-Web; see above). */
export const speaksHttp2Upstream = (p: Protocol): boolean => p === 'HTTP2' || p === 'GRPC';

/** Istio's IsHTTP. */
const isHttp = (p: Protocol): boolean => p === 'HTTP' || p === 'HTTP2' || p === 'HTTP_PROXY' || p === 'GRPC' || p === 'GRPC-Web';

/** Istio's shouldH2Upgrade, for an outbound cluster. */
export function shouldH2Upgrade(protocol: Protocol, mesh: MeshH2UpgradePolicy, http: HttpPool): boolean {
  if (http) {
    if (http.useClientProtocol) return false;
    if (http.h2UpgradePolicy === 'UPGRADE') return true;
    if (http.h2UpgradePolicy === 'DO_NOT_UPGRADE') return false;
  }
  // A sniffed port is never upgraded: its server sidecar uses the downstream protocol and would
  // hand HTTP/2 to an application that may only speak HTTP/1.1.
  if (!isHttp(protocol)) return false;
  return mesh === 'UPGRADE';
}

export interface UpstreamProtocolInput {
  readonly protocol: Protocol;
  /** The receiving proxy is a sidecar (gateways never use the downstream protocol on their own). */
  readonly sidecar: boolean;
  readonly mesh: MeshH2UpgradePolicy;
  /** The cluster's (merged) `connectionPool.http`. */
  readonly http: HttpPool;
}

const H2 = (): JsonObject => ({ http2_protocol_options: {} });
const downstream = (): JsonObject => ({ http_protocol_options: {}, http2_protocol_options: {} });

/** The HttpProtocolOptions message for an outbound cluster, or undefined when it needs none. */
export function buildHttpProtocolOptions(i: UpstreamProtocolInput): JsonObject | undefined {
  let explicit: JsonObject | undefined;
  let useDownstream: JsonObject | undefined;
  if (speaksHttp2Upstream(i.protocol)) explicit = H2();
  else if (i.sidecar && i.protocol === 'Unsupported') useDownstream = downstream();
  if (shouldH2Upgrade(i.protocol, i.mesh, i.http)) {
    explicit = H2();
    useDownstream = undefined;
  }
  const http = i.http;
  const common = compact({
    idle_timeout: http?.idleTimeout ? protoDuration(http.idleTimeout) : undefined,
    max_requests_per_connection: http?.maxRequestsPerConnection || undefined,
  });
  if (explicit?.http2_protocol_options && http?.maxConcurrentStreams) {
    explicit = { http2_protocol_options: { max_concurrent_streams: http.maxConcurrentStreams } };
  }
  if (http?.useClientProtocol) {
    useDownstream = downstream();
    explicit = undefined;
  }
  const hasCommon = Object.keys(common).length > 0;
  if (!explicit && !useDownstream && !hasCommon) return undefined;
  return compact({
    '@type': TYPE.HttpProtocolOptions,
    common_http_protocol_options: hasCommon ? common : undefined,
    explicit_http_config: explicit ?? (useDownstream ? undefined : { http_protocol_options: {} }),
    use_downstream_protocol_config: useDownstream,
  });
}

/** Sets (or leaves out) the cluster's `typed_extension_protocol_options`. */
export function applyUpstreamProtocol(cluster: JsonObject, i: UpstreamProtocolInput): void {
  const o = buildHttpProtocolOptions(i);
  if (o) cluster.typed_extension_protocol_options = { [HTTP_PROTOCOL_OPTIONS_KEY]: o };
  else delete cluster.typed_extension_protocol_options;
}
