/**
 * What Istio's telemetry filters compile into (see compile-telemetry-filters.ts): the
 * `istio.stats` settings of one connection manager and the attribute expressions a Telemetry
 * `tagOverrides` may give a label.
 */
import type { IstioMetricName } from '@minimesh/mesh';

/** `reporter="source"` on outbound listeners and gateways, `"destination"` on inbound ones. */
export type Reporter = 'source' | 'destination';

/**
 * A label value computed per request from its attributes (Istio writes CEL; minimesh reads the
 * attribute forms people use in `tagOverrides`).
 */
export type AttributeExpr =
  | { readonly kind: 'literal'; readonly value: string }
  | { readonly kind: 'request_header'; readonly name: string }
  | { readonly kind: 'request'; readonly field: 'host' | 'method' | 'url_path' | 'path' | 'scheme' | 'protocol' | 'useragent' | 'id' }
  | { readonly kind: 'response_code' };

export interface DimensionRt {
  readonly tag: string;
  readonly value: AttributeExpr;
}

/** One metric's overrides (Istio's `MetricConfig`). */
export interface MetricOverrideRt {
  /** Not exported at all. */
  readonly drop: boolean;
  readonly tagsToRemove: ReadonlySet<string>;
  /** Labels added, or replaced, per request. */
  readonly dimensions: readonly DimensionRt[];
}

export interface IstioStatsRt {
  readonly reporter: Reporter;
  /** Without it, `destination_service` falls back to the Host header when the cluster names no service. */
  readonly disableHostHeaderFallback: boolean;
  /** Only the metrics with overrides are in the map. */
  readonly metrics: ReadonlyMap<IstioMetricName, MetricOverrideRt>;
  /**
   * Every (tag, expression) any metric adds, as `dimensionKey()`s in a fixed order: the
   * per-request values are computed once for all metrics.
   */
  readonly dimensionTags: readonly string[];
  /** The expression of each of `dimensionTags`. */
  readonly dimensionExprs: readonly AttributeExpr[];
}

/** What the two filters turn on in a connection manager. */
export interface TelemetryRt {
  /** Which side of a request this connection manager is (its listener's `traffic_direction`). */
  readonly reporter: Reporter;
  /** `istio.metadata_exchange`: peer metadata headers sent, read and removed. */
  readonly metadataExchange: boolean;
  /** `istio.stats`: Istio's standard metrics recorded (undefined: none). */
  readonly stats: IstioStatsRt | undefined;
}
