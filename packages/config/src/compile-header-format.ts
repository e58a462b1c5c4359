/**
 * A header value with Envoy's `%OPERATOR%`s -> parts, once at config time. `%%` is a literal
 * percent sign; any other `%` must open a known operator closed by `%`, else the value is a
 * config error naming the field. A value with no `%` has no parts at all (nothing per request).
 */
import type { Errors } from './errors.js';
import { HEADER_FORMAT_OPERATORS, type HeaderFormatOperator, type HeaderFormatPart } from './header-format-runtime.js';

const OPERATORS: ReadonlySet<string> = new Set(HEADER_FORMAT_OPERATORS);
/** NAME, NAME(arg), NAME(arg):N */
const COMMAND = /^([A-Z_]+)(?:\(([^)]*)\))?(?::(\d+))?$/;
const HEADER_NAME = /^:?[!#$%&'*+\-.^_`|~0-9a-z]+$/;

/** The parts of `value`, or undefined when it holds no operator (after `%%`, a literal). */
export function compileHeaderFormat(value: string, path: string, errors: Errors): { value: string; format?: HeaderFormatPart[] } {
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
    if (end < 0) {
      errors.add(path, `unterminated %-operator in ${JSON.stringify(value)} (write %% for a literal percent sign)`);
      return { value };
    }
    const part = compileCommand(value.slice(i + 1, end), path, errors);
    if (part === undefined) return { value };
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

function compileCommand(cmd: string, path: string, errors: Errors): HeaderFormatPart | undefined {
  const m = COMMAND.exec(cmd);
  if (m === null || !OPERATORS.has(m[1])) {
    errors.add(path, `unknown header value operator %${cmd}% (supported: ${HEADER_FORMAT_OPERATORS.map((o) => (o === 'REQ' || o === 'RESP' ? `${o}(name)` : o)).join(', ')}, and %% for a percent sign)`);
    return undefined;
  }
  const op = m[1] as HeaderFormatOperator;
  const arg = m[2];
  const maxLength = m[3] === undefined ? undefined : Number(m[3]);
  if (op === 'REQ' || op === 'RESP') {
    if (arg === undefined || arg === '') {
      errors.add(path, `%${op}(name)% needs a header name`);
      return undefined;
    }
    const [header, altHeader, extra] = arg.toLowerCase().split('?');
    if (extra !== undefined || !HEADER_NAME.test(header) || (altHeader !== undefined && !HEADER_NAME.test(altHeader))) {
      errors.add(path, `invalid header name in %${cmd}%`);
      return undefined;
    }
    return { kind: 'op', op, header, altHeader, maxLength };
  }
  if (op === 'START_TIME') return { kind: 'op', op, timeFormat: arg === undefined || arg === '' ? undefined : arg, maxLength };
  if (arg !== undefined) {
    errors.add(path, `%${op}% takes no argument`);
    return undefined;
  }
  return { kind: 'op', op, maxLength };
}
