/**
 * Envoy's regexes are RE2. minimesh runs them as JavaScript RegExps, after checking that the
 * pattern means the same in both: constructs RE2 rejects (lookaround, backreferences) and
 * RE2-only syntax JS cannot express are errors; a few RE2 spellings are translated
 * (`(?P<name>` -> `(?<name>`, `\A` / `\z`, a leading `(?i)`, `\pL`).
 */

export type RegexResult = { ok: true; regex: RegExp } | { ok: false; message: string };

export interface RegexOptions {
  /** Wrap as `^(?:...)$` so the whole input must match (Envoy's full-match semantics). */
  readonly anchored?: boolean;
  readonly global?: boolean;
  readonly ignoreCase?: boolean;
}

/** RE2's limit on repetition counts. */
const MAX_REPEAT = 1000;

export function compileRe2(pattern: string, opts: RegexOptions = {}): RegexResult {
  let src = pattern;
  let flags = '';
  if (src.startsWith('(?i)')) {
    src = src.slice(4);
    flags += 'i';
  }
  if (opts.ignoreCase && !flags.includes('i')) flags += 'i';
  let out = '';
  let inClass = false;
  for (let i = 0; i < src.length; i++) {
    const c = src[i];
    if (c === '\\') {
      const n = src[i + 1];
      if (n === undefined) return { ok: false, message: 'trailing backslash' };
      if (n >= '1' && n <= '9') return { ok: false, message: 'backreferences (\\1 ...) are not supported by RE2' };
      if (n === 'k' && src[i + 2] === '<') return { ok: false, message: 'named backreferences are not supported by RE2' };
      if (n === 'A' && !inClass) { out += '^'; i++; continue; }
      if (n === 'z' && !inClass) { out += '$'; i++; continue; }
      if (n === 'Z') return { ok: false, message: '\\Z is not supported by RE2' };
      if (n === 'C' || n === 'Q' || n === 'E') return { ok: false, message: `\\${n} is not supported by minimesh` };
      if ((n === 'p' || n === 'P') && src[i + 2] !== '{' && src[i + 2] !== undefined) {
        out += `\\${n}{${src[i + 2]}}`;
        i += 2;
        continue;
      }
      out += c + n;
      i++;
      continue;
    }
    if (inClass) {
      if (c === '[' && src[i + 1] === ':') return { ok: false, message: 'POSIX character classes ([:alpha:]) are not supported by minimesh' };
      if (c === ']') inClass = false;
      out += c;
      continue;
    }
    if (c === '[') {
      inClass = true;
      out += c;
      if (src[i + 1] === '^') { out += '^'; i++; }
      if (src[i + 1] === ']') { out += '\\]'; i++; }
      continue;
    }
    if (c === '(' && src[i + 1] === '?') {
      const rest = src.slice(i + 2);
      if (rest.startsWith('=') || rest.startsWith('!') || rest.startsWith('<=') || rest.startsWith('<!')) {
        return { ok: false, message: 'lookahead/lookbehind assertions are not supported by RE2' };
      }
      if (rest.startsWith('>')) return { ok: false, message: 'atomic groups are not supported by RE2' };
      if (rest.startsWith('P<')) { out += '(?<'; i += 3; continue; }
      if (rest.startsWith(':') || rest.startsWith('<')) { out += c; continue; }
      return { ok: false, message: 'inline flags other than a leading (?i) are not supported by minimesh' };
    }
    if (c === '{') {
      const m = /^\{(\d+)(,(\d*))?\}/.exec(src.slice(i));
      if (m && (Number(m[1]) > MAX_REPEAT || (m[3] && Number(m[3]) > MAX_REPEAT))) {
        return { ok: false, message: `repetition count above ${MAX_REPEAT} (RE2's limit)` };
      }
      if (m && (src[i + m[0].length] === '+')) return { ok: false, message: 'possessive quantifiers are not supported by RE2' };
    }
    if ((c === '+' || c === '*' || c === '?' ) && src[i + 1] === '+' && i > 0) {
      return { ok: false, message: 'possessive quantifiers are not supported by RE2' };
    }
    out += c;
  }
  const body = opts.anchored ? `^(?:${out})$` : out;
  const g = opts.global ? 'g' : '';
  // Prefer Unicode mode (RE2 matches code points); fall back to plain mode for patterns
  // whose escapes are only legal there (e.g. `\-` outside a class), unless \p needs `u`.
  try {
    return { ok: true, regex: new RegExp(body, flags + g + 'u') };
  } catch (eu) {
    if (/\\[pP]\{/.test(out)) return { ok: false, message: (eu as Error).message };
    try {
      return { ok: true, regex: new RegExp(body, flags + g) };
    } catch (e) {
      return { ok: false, message: (e as Error).message };
    }
  }
}

/** RE2 substitution (`\1`) to JS replacement (`$1`); a literal `$` is escaped. */
export function re2Substitution(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '$') out += '$$';
    else if (c === '\\' && s[i + 1] !== undefined && /[0-9]/.test(s[i + 1])) {
      out += s[i + 1] === '0' ? '$&' : `$${s[i + 1]}`;
      i++;
    } else if (c === '\\' && s[i + 1] === '\\') {
      out += '\\';
      i++;
    } else out += c;
  }
  return out;
}
