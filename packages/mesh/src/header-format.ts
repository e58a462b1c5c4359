/**
 * Envoy's `%OPERATOR%` substitutions in header values (`*_headers_to_add`, and so VirtualService
 * `headers`), parsed into parts: a literal, or an operator the proxy evaluates per request.
 * `%%` is a literal percent sign; any other `%` must open a known operator closed by `%`.
 * Shared by the config compiler (@minimesh/config) and the resource validator (@minimesh/kube).
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

/** `value` as it is sent (`%%` unescaped when there is no operator) and its parts when it has operators. */
export type ParsedHeaderFormat = { readonly value: string; readonly format?: HeaderFormatPart[] } | { readonly error: string };

const OPERATORS: ReadonlySet<string> = new Set(HEADER_FORMAT_OPERATORS);
/** NAME, NAME(arg), NAME(arg):N */
const COMMAND = /^([A-Z_]+)(?:\(([^)]*)\))?(?::(\d+))?$/;
const HEADER_NAME = /^:?[!#$%&'*+\-.^_`|~0-9a-z]+$/;

export function parseHeaderFormat(value: string): ParsedHeaderFormat {
  if (!value.includes('%')) return { value };
  const parts: HeaderFormatPart[] = [];
  let literal = '';
  let i = 0;
  while (i < value.length) {
    const c = value[i];
    if (c !== '%') {
      literal += c;
      i++;
      continue;
    }
    if (value[i + 1] === '%') {
      literal += '%';
      i += 2;
      continue;
    }
    const end = commandEnd(value, i + 1);
    if (end < 0) return { error: `unterminated %-operator in ${JSON.stringify(value)} (write %% for a literal percent sign)` };
    const part = parseCommand(value.slice(i + 1, end));
    if ('error' in part) return part;
    if (literal !== '') parts.push({ kind: 'literal', text: literal });
    literal = '';
    parts.push(part);
    i = end + 1;
  }
  if (parts.length === 0) return { value: literal };
  if (literal !== '') parts.push({ kind: 'literal', text: literal });
  return { value, format: parts };
}

/** The index of the `%` closing the command that starts at `from` (an argument in parentheses may hold `%`), or -1. */
function commandEnd(value: string, from: number): number {
  let i = from;
  while (i < value.length && /[A-Z_]/.test(value[i])) i++;
  if (value[i] === '(') {
    const close = value.indexOf(')', i);
    if (close < 0) return -1;
    i = close + 1;
  }
  return value.indexOf('%', i);
}

function parseCommand(cmd: string): HeaderFormatPart | { error: string } {
  const m = COMMAND.exec(cmd);
  if (m === null || !OPERATORS.has(m[1])) {
    const known = HEADER_FORMAT_OPERATORS.map((o) => (o === 'REQ' || o === 'RESP' ? `${o}(name)` : o)).join(', ');
    return { error: `unknown header value operator %${cmd}% (supported: ${known}, and %% for a percent sign)` };
  }
  const op = m[1] as HeaderFormatOperator;
  const arg = m[2];
  const maxLength = m[3] === undefined ? undefined : Number(m[3]);
  if (op === 'REQ' || op === 'RESP') {
    if (arg === undefined || arg === '') return { error: `%${op}(name)% needs a header name` };
    const [header, altHeader, extra] = arg.toLowerCase().split('?');
    if (extra !== undefined || !HEADER_NAME.test(header) || (altHeader !== undefined && !HEADER_NAME.test(altHeader))) return { error: `invalid header name in %${cmd}%` };
    return { kind: 'op', op, header, altHeader, maxLength };
  }
  if (op === 'START_TIME') return { kind: 'op', op, timeFormat: arg === undefined || arg === '' ? undefined : arg, maxLength };
  if (arg !== undefined) return { error: `%${op}% takes no argument` };
  return { kind: 'op', op, maxLength };
}
