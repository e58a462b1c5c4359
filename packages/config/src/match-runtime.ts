/** Runtime tables of route matching: paths, headers, query parameters, string matchers. Re-exported by runtime.ts. */
export type PathMatchRt =
  | { readonly kind: 'prefix'; readonly value: string }
  | { readonly kind: 'path'; readonly value: string }
  | { readonly kind: 'regex'; readonly regex: RegExp }
  | { readonly kind: 'path_separated_prefix'; readonly value: string }
  /** `connect_matcher`: CONNECT requests, and only them. */
  | { readonly kind: 'connect' };

export interface RouteMatchRt {
  readonly path: PathMatchRt;
  /** `case_sensitive`, default true. */
  readonly caseSensitive: boolean;
  readonly headers: readonly HeaderMatcherRt[];
  readonly queryParameters: readonly QueryParameterMatcherRt[];
}

/** A string matcher (Envoy's `type.matcher.v3.StringMatcher`). */
export type StringMatcherRt =
  | { readonly kind: 'exact'; readonly value: string; readonly ignoreCase: boolean }
  | { readonly kind: 'prefix'; readonly value: string; readonly ignoreCase: boolean }
  | { readonly kind: 'suffix'; readonly value: string; readonly ignoreCase: boolean }
  | { readonly kind: 'contains'; readonly value: string; readonly ignoreCase: boolean }
  | { readonly kind: 'regex'; readonly regex: RegExp };

export type HeaderMatchRuleRt =
  | { readonly kind: 'string'; readonly matcher: StringMatcherRt }
  | { readonly kind: 'present'; readonly present: boolean }
  | { readonly kind: 'range'; readonly start: number; readonly end: number };

export interface HeaderMatcherRt {
  /** Lower case; `:method`, `:path`, `:authority` are the pseudo-headers. */
  readonly name: string;
  readonly rule: HeaderMatchRuleRt;
  readonly invert: boolean;
  /** `treat_missing_header_as_empty` */
  readonly treatMissingAsEmpty: boolean;
}

export interface QueryParameterMatcherRt {
  readonly name: string;
  /** undefined = `present_match: true` */
  readonly matcher: StringMatcherRt | undefined;
}
