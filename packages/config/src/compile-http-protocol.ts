/**
 * A connection manager's protocol settings: `codec_type` and `http2_protocol_options`
 * (Envoy's ranges and defaults, envoy/config/core/v3/protocol.proto).
 */
import type { HttpConnectionManager } from '@minimesh/api';
import { allowOnly, join, type Errors } from './errors.js';
import { wrapped } from './duration.js';
import type { CodecType, Http2ProtocolOptionsRt } from './runtime.js';

const MAX_STREAMS = 2_147_483_647;
const MIN_WINDOW = 65_535;
const MAX_WINDOW = 2_147_483_647;
const DEFAULT_WINDOW = 268_435_456;

/** Envoy's defaults. */
export const DEFAULT_HTTP2_OPTIONS: Http2ProtocolOptionsRt = {
  maxConcurrentStreams: MAX_STREAMS,
  initialStreamWindowSize: DEFAULT_WINDOW,
  initialConnectionWindowSize: DEFAULT_WINDOW,
  allowConnect: false,
};

const CODECS = ['AUTO', 'HTTP1', 'HTTP2', 'HTTP3'] as const;

export function compileCodecType(c: HttpConnectionManager['codec_type'], path: string, errors: Errors): CodecType {
  const name = typeof c === 'number' ? CODECS[c] : (c ?? 'AUTO');
  if (name === 'AUTO' || name === 'HTTP1' || name === 'HTTP2') return name;
  errors.add(path, `${String(name ?? c)} is not supported by minimesh (AUTO, HTTP1 or HTTP2)`);
  return 'AUTO';
}

type Http2Options = NonNullable<HttpConnectionManager['http2_protocol_options']>;
const FLAGS = ['allow_metadata', 'stream_error_on_invalid_http_messaging'] as const;

export function compileHttp2ProtocolOptions(o: Http2Options | null | undefined, path: string, errors: Errors): Http2ProtocolOptionsRt {
  if (!o) return DEFAULT_HTTP2_OPTIONS;
  allowOnly(o, path, ['max_concurrent_streams', 'initial_stream_window_size', 'initial_connection_window_size', 'allow_connect', ...FLAGS], errors);
  // A flag written out as false is its default: only true asks for something.
  for (const f of FLAGS) if (o[f] === true) errors.add(join(path, f), 'not supported by minimesh yet');
  return {
    maxConcurrentStreams: inRange(wrapped(o.max_concurrent_streams, MAX_STREAMS), 1, MAX_STREAMS, join(path, 'max_concurrent_streams'), errors),
    initialStreamWindowSize: inRange(wrapped(o.initial_stream_window_size, DEFAULT_WINDOW), MIN_WINDOW, MAX_WINDOW, join(path, 'initial_stream_window_size'), errors),
    initialConnectionWindowSize: inRange(wrapped(o.initial_connection_window_size, DEFAULT_WINDOW), MIN_WINDOW, MAX_WINDOW, join(path, 'initial_connection_window_size'), errors),
    allowConnect: o.allow_connect === true,
  };
}

function inRange(v: number, min: number, max: number, path: string, errors: Errors): number {
  if (Number.isInteger(v) && v >= min && v <= max) return v;
  errors.add(path, `must be an integer between ${min} and ${max} (got ${v})`);
  return v < min ? min : max;
}
