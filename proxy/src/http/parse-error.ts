/**
 * A protocol error found while reading an HTTP/1.1 message. `status` is the reply the
 * downstream gets (400, 408, 431, 501, 505); `detail` is Envoy-style response code detail
 * (`http1.codec_error`, `http1.headers_too_large`, ...) for the access log.
 */
export class HttpParseError extends Error {
  constructor(
    readonly status: number,
    readonly detail: string,
    message: string,
  ) {
    super(message);
    this.name = 'HttpParseError';
  }
}
