/** Envoy's `type.matcher.v3.StringMatcher`: compile once, match on the hot path. */
import type { StringMatcher } from '@minimesh/api';
import { allowOnly, join, type Errors } from './errors.js';
import { compileRe2 } from './regex.js';
import type { StringMatcherRt } from './runtime.js';

/** Compiles a RegexMatcher (`{ regex, google_re2 }`) with full-match anchoring. */
export function compileRegexMatcher(
  m: { regex?: string; google_re2?: unknown; engine_type?: string } | null | undefined,
  path: string,
  errors: Errors,
): RegExp | undefined {
  if (!m || m.regex === undefined) {
    errors.add(join(path, 'regex'), 'regex is required');
    return undefined;
  }
  allowOnly(m, path, ['regex', 'google_re2'], errors, ['engine_type']);
  const r = compileRe2(m.regex, { anchored: true });
  if (!r.ok) {
    errors.add(join(path, 'regex'), `invalid regex ${JSON.stringify(m.regex)}: ${r.message}`);
    return undefined;
  }
  return r.regex;
}

export function compileStringMatcher(m: StringMatcher | null | undefined, path: string, errors: Errors): StringMatcherRt | undefined {
  if (!m) {
    errors.add(path, 'string matcher is required');
    return undefined;
  }
  allowOnly(m, path, ['exact', 'prefix', 'suffix', 'contains', 'safe_regex', 'ignore_case'], errors, ['match_pattern']);
  const ignoreCase = m.ignore_case === true;
  const v = (s: string): string => (ignoreCase ? s.toLowerCase() : s);
  switch (m.match_pattern) {
    case 'exact':
      return { kind: 'exact', value: v(m.exact ?? ''), ignoreCase };
    case 'prefix':
      if (!m.prefix) errors.add(join(path, 'prefix'), 'must not be empty');
      return { kind: 'prefix', value: v(m.prefix ?? ''), ignoreCase };
    case 'suffix':
      if (!m.suffix) errors.add(join(path, 'suffix'), 'must not be empty');
      return { kind: 'suffix', value: v(m.suffix ?? ''), ignoreCase };
    case 'contains':
      if (!m.contains) errors.add(join(path, 'contains'), 'must not be empty');
      return { kind: 'contains', value: v(m.contains ?? ''), ignoreCase };
    case 'safe_regex': {
      // ignore_case has no effect on safe_regex in Envoy either.
      const re = compileRegexMatcher(m.safe_regex, join(path, 'safe_regex'), errors);
      return re ? { kind: 'regex', regex: re } : undefined;
    }
    default:
      errors.add(path, 'one of exact, prefix, suffix, contains, safe_regex is required');
      return undefined;
  }
}

/** Hot path: does `value` satisfy the matcher? */
export function matchString(m: StringMatcherRt, value: string): boolean {
  switch (m.kind) {
    case 'exact':
      return (m.ignoreCase ? value.toLowerCase() : value) === m.value;
    case 'prefix':
      return (m.ignoreCase ? value.toLowerCase() : value).startsWith(m.value);
    case 'suffix':
      return (m.ignoreCase ? value.toLowerCase() : value).endsWith(m.value);
    case 'contains':
      return (m.ignoreCase ? value.toLowerCase() : value).includes(m.value);
    case 'regex':
      return m.regex.test(value);
  }
}
