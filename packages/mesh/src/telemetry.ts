/**
 * Istio's telemetry names, shared by the control plane (which turns metrics on in the
 * listeners it pushes), the proxy (which records them) and the dashboard (which reads them):
 * the two HTTP filters, their config type URLs, the metadata-exchange headers, the metric
 * names and labels, and Envoy's default histogram buckets.
 */

/** The HTTP filter that exchanges workload metadata with the peer sidecar (Istio's `peer_metadata`). */
export const METADATA_EXCHANGE_FILTER = 'istio.metadata_exchange';
/** The HTTP filter that records Istio's standard metrics. */
export const STATS_FILTER = 'istio.stats';
/** Their config messages, which Envoy's protos lack: carried in a TypedStruct, as Istio pushes them. */
export const PEER_METADATA_CONFIG_TYPE = 'type.googleapis.com/io.istio.http.peer_metadata.Config';
export const STATS_CONFIG_TYPE = 'type.googleapis.com/stats.PluginConfig';

/** Headers of Istio's HTTP metadata exchange: never seen by an application. */
export const PEER_METADATA_HEADER = 'x-envoy-peer-metadata';
export const PEER_METADATA_ID_HEADER = 'x-envoy-peer-metadata-id';

/** Endpoint metadata (`filter_metadata.istio.workload`): `NAME;NAMESPACE;CANONICAL_NAME;CANONICAL_REVISION;CLUSTER`. */
export const ISTIO_METADATA_KEY = 'istio';

/** Istio's default `CLUSTER_ID` (and Kiali's default cluster name). */
export const DEFAULT_CLUSTER_ID = 'Kubernetes';
/** The value of a label whose peer is unknown; a canonical revision falls back to `latest`. */
export const UNKNOWN = 'unknown';
export const LATEST = 'latest';

/** Istio's standard metric names (the config's names, without the `istio_` prefix). */
export const ISTIO_METRICS = [
  'requests_total',
  'request_duration_milliseconds',
  'request_bytes',
  'response_bytes',
  'request_messages_total',
  'response_messages_total',
  'tcp_sent_bytes_total',
  'tcp_received_bytes_total',
  'tcp_connections_opened_total',
  'tcp_connections_closed_total',
] as const;
export type IstioMetricName = (typeof ISTIO_METRICS)[number];

/** The Telemetry API's metric names -> the metric they select (`ALL_METRICS` selects all). */
export const TELEMETRY_METRIC_NAMES: Readonly<Record<string, IstioMetricName>> = {
  REQUEST_COUNT: 'requests_total',
  REQUEST_DURATION: 'request_duration_milliseconds',
  REQUEST_SIZE: 'request_bytes',
  RESPONSE_SIZE: 'response_bytes',
  GRPC_REQUEST_MESSAGES: 'request_messages_total',
  GRPC_RESPONSE_MESSAGES: 'response_messages_total',
  TCP_SENT_BYTES: 'tcp_sent_bytes_total',
  TCP_RECEIVED_BYTES: 'tcp_received_bytes_total',
  TCP_OPENED_CONNECTIONS: 'tcp_connections_opened_total',
  TCP_CLOSED_CONNECTIONS: 'tcp_connections_closed_total',
};

/** The labels of the request metrics, in the order Istio's proxy writes them. */
export const REQUEST_LABELS = [
  'reporter',
  'source_workload',
  'source_canonical_service',
  'source_canonical_revision',
  'source_workload_namespace',
  'source_principal',
  'source_app',
  'source_version',
  'source_cluster',
  'destination_workload',
  'destination_workload_namespace',
  'destination_principal',
  'destination_app',
  'destination_version',
  'destination_service',
  'destination_canonical_service',
  'destination_canonical_revision',
  'destination_service_name',
  'destination_service_namespace',
  'destination_cluster',
  'request_protocol',
  'response_code',
  'grpc_response_status',
  'response_flags',
  'connection_security_policy',
] as const;
export type RequestLabel = (typeof REQUEST_LABELS)[number];

/** Envoy's default histogram buckets (`HistogramSettingsImpl::defaultBuckets`), used by all three histograms. */
export const DEFAULT_HISTOGRAM_BUCKETS: readonly number[] = [
  0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000,
];

/**
 * The config of `istio.metadata_exchange` as a network filter (TCP metadata exchange over the
 * `istio-peer-exchange` ALPN), carried in a TypedStruct as Istio's other filters are.
 */
export const TCP_METADATA_EXCHANGE_CONFIG_TYPE = 'type.googleapis.com/envoy.tcp.metadataexchange.config.MetadataExchange';
/** The ALPN under which two sidecars exchange their workload metadata on a TCP connection. */
export const PEER_EXCHANGE_ALPN = 'istio-peer-exchange';
