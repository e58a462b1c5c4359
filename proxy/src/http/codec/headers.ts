/**
 * The protocol-neutral message heads every codec produces and consumes (Envoy's header
 * maps, with the pseudo-headers as fields). HTTP/1.1 and HTTP/2 codecs turn their wire
 * format into these and back; the connection manager and the router see nothing else.
 *
 * Header names are lower case; `names[i]` goes with `values[i]`, in the order received.
 * Pseudo-headers (`:method`, `:path`, ...) never appear in the lists.
 */

export interface HeaderList {
  readonly names: string[];
  readonly values: string[];
}

/** The request's protocol as the access log writes it (%PROTOCOL%). */
export type HttpProtocol = 'HTTP/1.0' | 'HTTP/1.1' | 'HTTP/2';

/** A request head as a codec hands it to the connection manager. */
export interface RequestHeaders extends HeaderList {
  readonly method: string;
  /** Path and query (origin form); `*` for `OPTIONS *`. */
  readonly path: string;
  /**
   * The request's authority: HTTP/1.x the absolute-form target, else the Host header;
   * HTTP/2 `:authority`, else Host. '' when the request has none (HTTP/1.0).
   * HTTP/1.x keeps its Host header in the list as received.
   */
  authority: string;
  /** `http` or `https` (HTTP/2 `:scheme`; HTTP/1.x: of the connection). */
  readonly scheme: string;
  readonly protocol: HttpProtocol;
}

/** A response head (the status is `:status`). */
export interface ResponseHeaders extends HeaderList {
  readonly status: number;
}

/** Value of the first header called `name` (lower case), or undefined. */
export function getHeader(h: HeaderList, name: string): string | undefined {
  const names = h.names;
  for (let i = 0; i < names.length; i++) if (names[i] === name) return h.values[i];
  return undefined;
}

/** Values of every header called `name`, joined with ',' as Envoy does; undefined if absent. */
export function getJoinedHeader(h: HeaderList, name: string): string | undefined {
  let out: string | undefined;
  const names = h.names;
  for (let i = 0; i < names.length; i++) {
    if (names[i] === name) out = out === undefined ? h.values[i] : `${out},${h.values[i]}`;
  }
  return out;
}

/** True when the list has a header called `name`. */
export function hasHeader(h: HeaderList, name: string): boolean {
  const names = h.names;
  for (let i = 0; i < names.length; i++) if (names[i] === name) return true;
  return false;
}
