/**
 * Envoy's `%OPERATOR%` substitutions in header values (`*_headers_to_add`), precompiled into
 * parts (the parser is @minimesh/mesh's header-format.ts); the proxy evaluates them per request.
 */
export { HEADER_FORMAT_OPERATORS, type HeaderFormatOperator, type HeaderFormatPart } from '@minimesh/mesh';
