/**
 * Names and numbers every minimesh program shares: Istio's ports, the proxy's uid,
 * Envoy's header names and response flags. One place, so nothing spells them twice.
 */

/** Istio's well-known ports (see shared ISTIO-FACTS). */
export const PORTS = {
  admin: 15000,
  outboundCapture: 15001,
  inboundCapture: 15006,
  hbone: 15008,
  mergedMetrics: 15020,
  health: 15021,
  dns: 15053,
  prometheus: 15090,
  xds: 15010,
  xdsTls: 15012,
  controlPlaneDebug: 15014,
  webhook: 15017,
  dashboard: 20001,
} as const;

/** The proxy runs as this uid and gid; iptables never captures its traffic. */
export const PROXY_UID = 1337;
export const PROXY_GID = 1337;

/** Envoy's and Istio's header names, lower case as they travel in HTTP/1.1 tables. */
export const HEADERS = {
  upstreamServiceTime: 'x-envoy-upstream-service-time',
  requestId: 'x-request-id',
  forwardedFor: 'x-forwarded-for',
  forwardedProto: 'x-forwarded-proto',
  attemptCount: 'x-envoy-attempt-count',
  expectedTimeout: 'x-envoy-expected-rq-timeout-ms',
  originalPath: 'x-envoy-original-path',
  retryOn: 'x-envoy-retry-on',
  maxRetries: 'x-envoy-max-retries',
  upstreamTimeout: 'x-envoy-upstream-rq-timeout-ms',
  perTryTimeout: 'x-envoy-upstream-rq-per-try-timeout-ms',
  retriableStatusCodes: 'x-envoy-retriable-status-codes',
  internal: 'x-envoy-internal',
} as const;

/** Envoy's response flags (the short form printed in access logs). */
export type ResponseFlag =
  | 'NR' // no route configured
  | 'UH' // no healthy upstream
  | 'UF' // upstream connection failure
  | 'UC' // upstream connection termination
  | 'UT' // upstream request timeout
  | 'UO' // upstream overflow (circuit breaker)
  | 'URX' // upstream retry limit exceeded
  | 'DC' // downstream connection termination
  | 'UR' // upstream remote reset
  | 'LR' // local reset
  | 'DI' // delay injected
  | 'FI' // fault injected
  | 'RL' // rate limited
  | 'DPE' // downstream protocol error
  | 'UPE' // upstream protocol error
  | 'NC' // no cluster found
  | 'UMSDR' // upstream max stream duration reached
  | 'SI'; // stream idle timeout

/** The server name Istio gives its inbound and gateway listeners. */
export const ISTIO_SERVER_NAME = 'istio-envoy';
/** Envoy's default `server_name`. */
export const ENVOY_SERVER_NAME = 'envoy';

/** The source address of a sidecar's connections to its own app under capture (never captured again). */
export const INBOUND_PASSTHROUGH_SOURCE = '127.0.0.6';

/** Istio's cluster names for traffic the mesh does not know. */
export const PASSTHROUGH_CLUSTER = 'PassthroughCluster';
export const BLACKHOLE_CLUSTER = 'BlackHoleCluster';
export * from './table.js';
export * from './telemetry.js';
export * from './install-names.js';

/**
 * Node flags every minimesh proxy runs with. V8's young generation grows to 16 MiB semi-spaces
 * under load, which took a proxy's peak RSS past 100 MB; 2 MiB semi-spaces keep it near 76 MB at
 * the same CPU per request (bench/README.md). The `minimesh` bin's shebang carries the same
 * flags (a test checks they agree), so `minimesh proxy` in an image gets them too.
 */
export const PROXY_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=2'];

/** Every condition Envoy accepts in `retry_on` (and Istio in `retries.retryOn`): HTTP, then gRPC. */
export const ENVOY_RETRY_ON: readonly string[] = [
  '5xx',
  'gateway-error',
  'reset',
  'reset-before-request',
  'connect-failure',
  'envoy-ratelimited',
  'retriable-4xx',
  'refused-stream',
  'retriable-status-codes',
  'retriable-headers',
  'http3-post-connect-failure',
  'cancelled',
  'deadline-exceeded',
  'internal',
  'resource-exhausted',
  'unavailable',
];

export { MINIMESH_VERSION } from './version.js';
export * from './header-format.js';
