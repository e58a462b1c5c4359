/**
 * Runtime tables for protocol choices: the upstream protocol of a cluster, HTTP/2 settings,
 * and upgrades (`upgrade_configs`). Re-exported by runtime.ts.
 */

/**
 * What a cluster speaks to its endpoints, from `typed_extension_protocol_options`
 * `envoy.extensions.upstreams.http.v3.HttpProtocolOptions`:
 *   `http1`      `explicit_http_config.http_protocol_options`, or no HttpProtocolOptions at all
 *   `http2`      `explicit_http_config.http2_protocol_options` (h2c with prior knowledge while
 *                clusters have no TLS), or the deprecated cluster field `http2_protocol_options`
 *   `downstream` `use_downstream_protocol_config`: HTTP/2 when the downstream request came over
 *                HTTP/2, HTTP/1.1 otherwise
 */
export type UpstreamProtocol = 'http1' | 'http2' | 'downstream';

/** Envoy's `config.core.v3.Http2ProtocolOptions`, the fields minimesh honours, with Envoy's defaults. */
export interface UpstreamHttp2OptionsRt {
  /**
   * `max_concurrent_streams` (default 2147483647). Upstream: at most this many streams per
   * session, and never more than the server's SETTINGS_MAX_CONCURRENT_STREAMS.
   */
  readonly maxConcurrentStreams: number;
  /** `initial_stream_window_size`, bytes (default 268435456; 65535..2147483647). */
  readonly initialStreamWindowSize: number;
  /** `initial_connection_window_size`, bytes (default 268435456; 65535..2147483647). */
  readonly initialConnectionWindowSize: number;
  /** `hpack_table_size`, bytes (default 4096). */
  readonly hpackTableSize: number;
  /** `allow_connect`: extended CONNECT (RFC 8441), which carries WebSocket over HTTP/2 (default false). */
  readonly allowConnect: boolean;
}

/** One entry of an HCM's or a route's `upgrade_configs`. */
export interface UpgradeConfigRt {
  /** `upgrade_type`, lower case (Envoy compares it case-insensitively): `websocket`, `connect`, ... */
  readonly upgradeType: string;
  /** `enabled`, default true. */
  readonly enabled: boolean;
  /** A route's CONNECT entry with `connect_config`: the proxy answers the CONNECT and relays its bytes as TCP. */
  readonly terminateConnect?: boolean;
}

/** `codec_type`: AUTO (plaintext: HTTP/2 by its connection preface, else HTTP/1.1), HTTP1, HTTP2. */
export type CodecType = 'AUTO' | 'HTTP1' | 'HTTP2';

/** `http2_protocol_options` of a connection manager (Envoy's defaults when absent). */
export interface Http2ProtocolOptionsRt {
  /** `max_concurrent_streams` (default 2147483647). */
  readonly maxConcurrentStreams: number;
  /** `initial_stream_window_size`, bytes (default 268435456). */
  readonly initialStreamWindowSize: number;
  /** `initial_connection_window_size`, bytes (default 268435456). */
  readonly initialConnectionWindowSize: number;
  /**
   * `allow_connect`: the server advertises SETTINGS_ENABLE_CONNECT_PROTOCOL and takes extended
   * CONNECT (RFC 8441) requests, `:protocol websocket` as a WebSocket upgrade (default false).
   */
  readonly allowConnect: boolean;
}
