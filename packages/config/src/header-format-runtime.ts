/**
 * Envoy's `%OPERATOR%` substitutions in header values (`*_headers_to_add`), precompiled into
 * parts: a literal, or an operator the proxy evaluates per request (header-format.ts there).
 */

/** The operators minimesh evaluates in header values. */
export const HEADER_FORMAT_OPERATORS = [
  'DOWNSTREAM_REMOTE_ADDRESS',
  'DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT',
  'DOWNSTREAM_LOCAL_ADDRESS',
  'DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT',
  'DOWNSTREAM_LOCAL_PORT',
  'UPSTREAM_HOST',
  'UPSTREAM_REMOTE_ADDRESS',
  'UPSTREAM_CLUSTER',
  'START_TIME',
  'PROTOCOL',
  'HOSTNAME',
  'REQUESTED_SERVER_NAME',
  'DOWNSTREAM_PEER_URI_SAN',
  'RESPONSE_CODE',
  'REQ',
  'RESP',
] as const;

export type HeaderFormatOperator = (typeof HEADER_FORMAT_OPERATORS)[number];

export type HeaderFormatPart =
  | { readonly kind: 'literal'; readonly text: string }
  | {
      readonly kind: 'op';
      readonly op: HeaderFormatOperator;
      /** REQ/RESP: the header (lower case), and the alternative after `?` (or undefined). */
      readonly header?: string;
      readonly altHeader?: string;
      /** START_TIME: the strftime-style format in parentheses (undefined: ISO 8601 with ms). */
      readonly timeFormat?: string;
      /** `:N`: the value is cut to N characters. */
      readonly maxLength?: number;
    };
