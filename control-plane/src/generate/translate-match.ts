/** VirtualService HTTPMatchRequest -> Envoy RouteMatch (Istio's translateRouteMatch). */
import type { HTTPMatchRequest, StringMatch } from '@minimesh/kube';
import { compact, type JsonObject } from './envoy-json.js';

export function translateStringMatch(m: StringMatch, ignoreCase = false): JsonObject {
  const base: JsonObject =
    m.exact !== undefined ? { exact: m.exact } : m.prefix !== undefined ? { prefix: m.prefix } : m.regex !== undefined ? { safe_regex: { regex: m.regex } } : { prefix: '' };
  if (ignoreCase && m.regex === undefined) base.ignore_case = true;
  return base;
}

/** `{}` (no exact/prefix/regex) matches presence, as in Istio. */
export function translateHeaderMatcher(name: string, m: StringMatch, invert = false): JsonObject {
  const empty = m.exact === undefined && m.prefix === undefined && m.regex === undefined;
  return compact({
    name,
    ...(empty ? { present_match: true } : { string_match: translateStringMatch(m) }),
    invert_match: invert || undefined,
  });
}

/** The RouteMatch of one match block; `undefined` match = everything (prefix `/`). */
export function translateRouteMatch(m: HTTPMatchRequest | undefined): JsonObject {
  const out: JsonObject = {};
  const uri = m?.uri;
  if (uri?.exact !== undefined) out.path = uri.exact;
  else if (uri?.regex !== undefined) out.safe_regex = { regex: uri.regex };
  else out.prefix = uri?.prefix ?? '/';
  if (m?.ignoreUriCase) out.case_sensitive = false;
  const headers: JsonObject[] = [];
  for (const [name, sm] of Object.entries(m?.headers ?? {})) headers.push(translateHeaderMatcher(name.toLowerCase(), sm));
  for (const [name, sm] of Object.entries(m?.withoutHeaders ?? {})) headers.push(translateHeaderMatcher(name.toLowerCase(), sm, true));
  // method, authority and scheme match pseudo-headers.
  if (m?.method) headers.push(translateHeaderMatcher(':method', m.method));
  if (m?.authority) headers.push(translateHeaderMatcher(':authority', m.authority));
  if (m?.scheme) headers.push(translateHeaderMatcher(':scheme', m.scheme));
  if (headers.length > 0) out.headers = headers;
  const qp = Object.entries(m?.queryParams ?? {});
  if (qp.length > 0) {
    out.query_parameters = qp.map(([name, sm]) =>
      sm.exact === undefined && sm.prefix === undefined && sm.regex === undefined ? { name, present_match: true } : { name, string_match: translateStringMatch(sm) },
    );
  }
  return out;
}
