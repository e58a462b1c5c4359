/**
 * HTTP/2 upstream: a pool of `ClientHttp2Session`s per endpoint, streams multiplexed, for
 * clusters whose `upstreamProtocol` is `http2` (or `downstream` with an HTTP/2 request).
 * The router reaches it through `H2ConnectionPool` (h2-connection-pool.ts), one per host.
 */
export { H2UpstreamPool, h2PoolOptionsFromCluster, H2_POOL_DEFAULTS, MAX_CONNECTION_WINDOW, type H2PoolStats, type H2SessionInfo } from './h2-pool.js';
export { H2UpstreamStream } from './h2-stream.js';
export { toH2RequestHeaders, teHasTrailers } from './h2-headers.js';
export { H2UpstreamError, retryOnConditions, type H2Endpoint, type H2FailureReason, type H2PoolOptions, type H2RequestHead, type H2RequestOptions, type H2ResponseHeaders, type H2StreamHandlers } from './h2-types.js';
