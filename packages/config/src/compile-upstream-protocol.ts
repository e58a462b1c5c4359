/**
 * A cluster's upstream HTTP options: `typed_extension_protocol_options`
 * `envoy.extensions.upstreams.http.v3.HttpProtocolOptions` (protocol choice, HTTP/2 settings,
 * common options), the deprecated `common_http_protocol_options` / `http_protocol_options` /
 * `http2_protocol_options` cluster fields, and `Http2ProtocolOptions` itself.
 */
import { TYPE_URL, unpackAny, type Cluster, type UpstreamHttpProtocolOptions } from '@minimesh/api';
import { durationMs, wrapped } from './duration.js';
import { allowOnly, join, type Errors } from './errors.js';
import type { UpstreamHttp2OptionsRt, UpstreamProtocol } from './protocol-runtime.js';

export const UPSTREAM_HTTP_OPTIONS_KEY = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';

type ExplicitHttpConfig = NonNullable<UpstreamHttpProtocolOptions['explicit_http_config']>;
/** `config.core.v3.Http2ProtocolOptions` in plain-object form. */
export type Http2ProtocolOptionsMessage = NonNullable<ExplicitHttpConfig['http2_protocol_options']>;

const MAX_INT31 = 2147483647;

/** Envoy's defaults for `Http2ProtocolOptions`. */
export const DEFAULT_UPSTREAM_HTTP2_OPTIONS: UpstreamHttp2OptionsRt = {
  maxConcurrentStreams: MAX_INT31,
  initialStreamWindowSize: 268435456,
  initialConnectionWindowSize: 268435456,
  hpackTableSize: 4096,
  allowConnect: false,
};

/** `Http2ProtocolOptions` -> runtime settings, with Envoy's ranges checked. */
export function compileUpstreamHttp2Options(o: Http2ProtocolOptionsMessage | null | undefined, path: string, errors: Errors): UpstreamHttp2OptionsRt {
  if (!o) return DEFAULT_UPSTREAM_HTTP2_OPTIONS;
  allowOnly(o, path, ['max_concurrent_streams', 'initial_stream_window_size', 'initial_connection_window_size', 'hpack_table_size', 'allow_connect'], errors);
  const ranged = (key: 'max_concurrent_streams' | 'initial_stream_window_size' | 'initial_connection_window_size', def: number, min: number): number => {
    const v = wrapped(o[key], def);
    if (v < min || v > MAX_INT31) {
      errors.add(join(path, key), `must be between ${min} and ${MAX_INT31} (got ${v})`);
      return def;
    }
    return v;
  };
  return {
    maxConcurrentStreams: ranged('max_concurrent_streams', DEFAULT_UPSTREAM_HTTP2_OPTIONS.maxConcurrentStreams, 1),
    initialStreamWindowSize: ranged('initial_stream_window_size', DEFAULT_UPSTREAM_HTTP2_OPTIONS.initialStreamWindowSize, 65535),
    initialConnectionWindowSize: ranged('initial_connection_window_size', DEFAULT_UPSTREAM_HTTP2_OPTIONS.initialConnectionWindowSize, 65535),
    hpackTableSize: wrapped(o.hpack_table_size, DEFAULT_UPSTREAM_HTTP2_OPTIONS.hpackTableSize),
    allowConnect: o.allow_connect === true,
  };
}

export interface UpstreamHttpOptionsRt {
  readonly upstreamIdleTimeoutMs: number;
  readonly maxRequestsPerConnection: number;
  readonly upstreamProtocol: UpstreamProtocol;
  readonly upstreamHttp2?: UpstreamHttp2OptionsRt;
}

/** Upstream HTTP options of a cluster: typed_extension_protocol_options wins over the deprecated fields. */
export function compileUpstreamHttpOptions(c: Cluster, path: string, errors: Errors): UpstreamHttpOptionsRt {
  let idle = durationMs(c.common_http_protocol_options?.idle_timeout, 3_600_000);
  let maxReq = wrapped(c.common_http_protocol_options?.max_requests_per_connection, 0);
  allowOnly(c.common_http_protocol_options, join(path, 'common_http_protocol_options'), ['idle_timeout', 'max_requests_per_connection'], errors);
  allowOnly(c.http_protocol_options, join(path, 'http_protocol_options'), [], errors);
  let protocol: UpstreamProtocol = 'http1';
  let http2: UpstreamHttp2OptionsRt | undefined;
  if (c.http2_protocol_options) {
    protocol = 'http2';
    http2 = compileUpstreamHttp2Options(c.http2_protocol_options, join(path, 'http2_protocol_options'), errors);
  }
  for (const [k, any] of Object.entries(c.typed_extension_protocol_options ?? {})) {
    const tp = join(join(path, 'typed_extension_protocol_options'), k);
    if (k !== UPSTREAM_HTTP_OPTIONS_KEY || any.type_url !== TYPE_URL.HttpProtocolOptions) {
      errors.add(tp, `only ${UPSTREAM_HTTP_OPTIONS_KEY} is supported by minimesh`);
      continue;
    }
    const o = unpackAny<UpstreamHttpProtocolOptions>(any);
    allowOnly(o, tp, ['explicit_http_config', 'use_downstream_protocol_config', 'common_http_protocol_options'], errors, ['upstream_protocol_options'], {
      auto_config: 'auto_config is not supported by minimesh yet (it needs ALPN on upstream TLS)',
    });
    if (!o.upstream_protocol_options) errors.add(tp, 'one of explicit_http_config, use_downstream_protocol_config is required');
    if (o.explicit_http_config) {
      const ep = join(tp, 'explicit_http_config');
      allowOnly(o.explicit_http_config, ep, ['http_protocol_options', 'http2_protocol_options'], errors, ['protocol_config'], {
        http3_protocol_options: 'HTTP/3 upstream is not supported by minimesh',
      });
      allowOnly(o.explicit_http_config.http_protocol_options, join(ep, 'http_protocol_options'), [], errors);
      if (o.explicit_http_config.protocol_config === 'http2_protocol_options') {
        protocol = 'http2';
        http2 = compileUpstreamHttp2Options(o.explicit_http_config.http2_protocol_options, join(ep, 'http2_protocol_options'), errors);
      } else {
        protocol = 'http1';
        http2 = undefined;
      }
    } else if (o.use_downstream_protocol_config) {
      const dp = join(tp, 'use_downstream_protocol_config');
      const d = o.use_downstream_protocol_config;
      allowOnly(d, dp, ['http_protocol_options', 'http2_protocol_options'], errors, [], {
        http3_protocol_options: 'HTTP/3 upstream is not supported by minimesh',
      });
      allowOnly(d.http_protocol_options, join(dp, 'http_protocol_options'), [], errors);
      protocol = 'downstream';
      http2 = compileUpstreamHttp2Options(d.http2_protocol_options, join(dp, 'http2_protocol_options'), errors);
    }
    const co = o.common_http_protocol_options;
    allowOnly(co, join(tp, 'common_http_protocol_options'), ['idle_timeout', 'max_requests_per_connection'], errors);
    if (co?.idle_timeout) idle = durationMs(co.idle_timeout, idle);
    if (co?.max_requests_per_connection) maxReq = wrapped(co.max_requests_per_connection, maxReq);
  }
  return { upstreamIdleTimeoutMs: idle, maxRequestsPerConnection: maxReq, upstreamProtocol: protocol, ...(http2 ? { upstreamHttp2: http2 } : {}) };
}
