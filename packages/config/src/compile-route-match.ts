/** RouteMatch -> RouteMatchRt (path, headers, query parameters). */
import type { HeaderMatcher, QueryParameterMatcher, RouteMatch } from '@minimesh/api';
import { allowOnly, join, type Errors } from './errors.js';
import type { HeaderMatcherRt, HeaderMatchRuleRt, PathMatchRt, QueryParameterMatcherRt, RouteMatchRt } from './runtime.js';
import { compileRegexMatcher, compileStringMatcher } from './string-matcher.js';

const VALID_HEADER = /^:?[!#$%&'*+\-.^_`|~0-9a-z]+$/;

export function compileRouteMatch(m: RouteMatch | undefined, path: string, errors: Errors): RouteMatchRt | undefined {
  if (!m) {
    errors.add(path, 'match is required');
    return undefined;
  }
  allowOnly(m, path, ['prefix', 'path', 'safe_regex', 'path_separated_prefix', 'connect_matcher', 'case_sensitive', 'headers', 'query_parameters'], errors, [
    'path_specifier',
  ]);
  const caseSensitive = m.case_sensitive?.value !== false;
  const norm = (s: string): string => (caseSensitive ? s : s.toLowerCase());
  let pm: PathMatchRt | undefined;
  switch (m.path_specifier) {
    case 'prefix':
      pm = { kind: 'prefix', value: norm(m.prefix ?? '') };
      break;
    case 'path':
      pm = { kind: 'path', value: norm(m.path ?? '') };
      break;
    case 'path_separated_prefix': {
      const v = m.path_separated_prefix ?? '';
      if (!v.startsWith('/') || (v.endsWith('/') && v.length > 1) || /[?#]/.test(v)) {
        errors.add(join(path, 'path_separated_prefix'), 'must start with "/", not end with "/" and hold no "?" or "#"');
      }
      pm = { kind: 'path_separated_prefix', value: norm(v) };
      break;
    }
    case 'safe_regex': {
      const re = compileRegexMatcher(m.safe_regex, join(path, 'safe_regex'), errors);
      if (re) pm = { kind: 'regex', regex: re };
      break;
    }
    case 'connect_matcher':
      // Matches CONNECT requests only (they carry no path); other path matchers never match them.
      allowOnly(m.connect_matcher, join(path, 'connect_matcher'), [], errors);
      pm = { kind: 'connect' };
      break;
    default:
      errors.add(path, 'one of prefix, path, safe_regex, path_separated_prefix, connect_matcher is required');
  }
  const headers: HeaderMatcherRt[] = [];
  (m.headers ?? []).forEach((h, i) => {
    const hm = compileHeaderMatcher(h, `${join(path, 'headers')}[${i}]`, errors);
    if (hm) headers.push(hm);
  });
  const queryParameters: QueryParameterMatcherRt[] = [];
  (m.query_parameters ?? []).forEach((q, i) => {
    const qm = compileQueryParameterMatcher(q, `${join(path, 'query_parameters')}[${i}]`, errors);
    if (qm) queryParameters.push(qm);
  });
  if (!pm) return undefined;
  return { path: pm, caseSensitive, headers, queryParameters };
}

export function compileHeaderMatcher(h: HeaderMatcher, path: string, errors: Errors): HeaderMatcherRt | undefined {
  allowOnly(
    h,
    path,
    ['name', 'string_match', 'exact_match', 'prefix_match', 'suffix_match', 'contains_match', 'safe_regex_match', 'present_match', 'range_match', 'invert_match', 'treat_missing_header_as_empty'],
    errors,
    ['header_match_specifier'],
  );
  const name = (h.name ?? '').toLowerCase();
  if (!VALID_HEADER.test(name)) {
    errors.add(join(path, 'name'), `invalid header name ${JSON.stringify(h.name ?? '')}`);
    return undefined;
  }
  let rule: HeaderMatchRuleRt | undefined;
  const str = (kind: 'exact' | 'prefix' | 'suffix' | 'contains', value: string | undefined): HeaderMatchRuleRt => ({
    kind: 'string',
    matcher: { kind, value: value ?? '', ignoreCase: false },
  });
  switch (h.header_match_specifier) {
    case 'string_match': {
      const sm = compileStringMatcher(h.string_match, join(path, 'string_match'), errors);
      if (sm) rule = { kind: 'string', matcher: sm };
      break;
    }
    case 'exact_match':
      rule = str('exact', h.exact_match);
      break;
    case 'prefix_match':
      rule = str('prefix', h.prefix_match);
      break;
    case 'suffix_match':
      rule = str('suffix', h.suffix_match);
      break;
    case 'contains_match':
      rule = str('contains', h.contains_match);
      break;
    case 'safe_regex_match': {
      const re = compileRegexMatcher(h.safe_regex_match, join(path, 'safe_regex_match'), errors);
      if (re) rule = { kind: 'string', matcher: { kind: 'regex', regex: re } };
      break;
    }
    case 'present_match':
      rule = { kind: 'present', present: h.present_match === true };
      break;
    case 'range_match': {
      const start = Number(h.range_match?.start ?? 0);
      const end = Number(h.range_match?.end ?? 0);
      if (!(start < end)) errors.add(join(path, 'range_match'), 'start must be less than end');
      rule = { kind: 'range', start, end };
      break;
    }
    default:
      // Envoy: no match specifier = the header must be present.
      rule = { kind: 'present', present: true };
  }
  if (!rule) return undefined;
  return { name, rule, invert: h.invert_match === true, treatMissingAsEmpty: h.treat_missing_header_as_empty === true };
}

export function compileQueryParameterMatcher(q: QueryParameterMatcher, path: string, errors: Errors): QueryParameterMatcherRt | undefined {
  allowOnly(q, path, ['name', 'string_match', 'present_match'], errors, ['query_parameter_match_specifier']);
  if (!q.name) {
    errors.add(join(path, 'name'), 'name is required');
    return undefined;
  }
  if (q.query_parameter_match_specifier === 'string_match') {
    const sm = compileStringMatcher(q.string_match, join(path, 'string_match'), errors);
    return sm ? { name: q.name, matcher: sm } : undefined;
  }
  if (q.query_parameter_match_specifier === 'present_match' && q.present_match === false) {
    errors.add(join(path, 'present_match'), 'present_match: false is not supported (Envoy requires true)');
    return undefined;
  }
  return { name: q.name, matcher: undefined };
}
