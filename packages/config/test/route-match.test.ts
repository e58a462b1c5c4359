import t from 'tap';
import { matchRoute, pickWeightedCluster, selectVirtualHost, type ForwardActionRt, type RequestView } from '../src/index.js';
import { req, routeConfig } from './helpers.js';

// One virtual host whose routes are each named after what they match; first match wins.
const rc = routeConfig(`
name: r
virtual_hosts:
- name: all
  domains: ["*"]
  routes:
  - name: exact-path
    match: { path: /exact }
    direct_response: { status: 200 }
  - name: case-insensitive-prefix
    match: { prefix: /CI/, case_sensitive: false }
    direct_response: { status: 200 }
  - name: regex-whole-path
    match: { safe_regex: { regex: "/items/[0-9]+" } }
    direct_response: { status: 200 }
  - name: separated-prefix
    match: { path_separated_prefix: /sep }
    direct_response: { status: 200 }
  - name: header-exact
    match: { prefix: /h/, headers: [{ name: x-env, string_match: { exact: prod } }] }
    direct_response: { status: 200 }
  - name: header-joined-values
    match: { prefix: /h/, headers: [{ name: x-multi, exact_match: "a,b" }] }
    direct_response: { status: 200 }
  - name: method-post
    match: { prefix: /h/, headers: [{ name: ":method", exact_match: POST }] }
    direct_response: { status: 200 }
  - name: header-absent
    match: { prefix: /h/, headers: [{ name: x-skip, present_match: false }] }
    direct_response: { status: 200 }
  - name: inverted-regex
    match: { prefix: /inv, headers: [{ name: x-v, safe_regex_match: { regex: "v[0-9]" }, invert_match: true }] }
    direct_response: { status: 200 }
  - name: range
    match: { prefix: /range, headers: [{ name: x-n, range_match: { start: 10, end: 20 } }] }
    direct_response: { status: 200 }
  - name: missing-as-empty
    match: { prefix: /empty, headers: [{ name: x-e, exact_match: "", treat_missing_header_as_empty: true }] }
    direct_response: { status: 200 }
  - name: query-decoded
    match: { prefix: /q, query_parameters: [{ name: name, string_match: { exact: "a b" } }] }
    direct_response: { status: 200 }
  - name: query-present
    match: { prefix: /q, query_parameters: [{ name: debug, present_match: true }] }
    direct_response: { status: 200 }
  - name: ignore-case-suffix
    match: { prefix: /s, headers: [{ name: x-s, string_match: { suffix: .COM, ignore_case: true } }] }
    direct_response: { status: 200 }
  - name: fallback
    match: { prefix: / }
    direct_response: { status: 404 }
`);
const vh = rc.virtualHosts[0];

const cases: [string, RequestView, string][] = [
  ['exact path matches without the query string', req('/exact?x=1'), 'exact-path'],
  ['exact path does not match a longer path', req('/exact/more'), 'fallback'],
  ['case_sensitive false matches any case', req('/ci/Thing'), 'case-insensitive-prefix'],
  ['regex must match the whole path', req('/items/42'), 'regex-whole-path'],
  ['regex does not match a path with a suffix', req('/items/42/x'), 'fallback'],
  ['regex ignores the query string', req('/items/7?a=b'), 'regex-whole-path'],
  ['path_separated_prefix matches the prefix itself', req('/sep'), 'separated-prefix'],
  ['path_separated_prefix matches at a slash', req('/sep/a'), 'separated-prefix'],
  ['path_separated_prefix does not match mid-segment', req('/separate'), 'fallback'],
  ['header exact match', req('/h/', { 'x-env': 'prod' }), 'header-exact'],
  ['repeated headers are joined with a comma', req('/h/', { 'x-multi': ['a', 'b'], 'x-skip': '1' }), 'header-joined-values'],
  [':method pseudo-header', req('/h/', { 'x-skip': '1' }, 'POST'), 'method-post'],
  ['present_match false matches when the header is absent', req('/h/'), 'header-absent'],
  ['present_match false does not match when present', req('/h/', { 'x-skip': '' }), 'fallback'],
  ['invert_match: non-matching value matches', req('/inv', { 'x-v': 'beta' }), 'inverted-regex'],
  ['invert_match: matching value does not', req('/inv', { 'x-v': 'v2' }), 'fallback'],
  ['invert_match on a missing header does not match (Envoy)', req('/inv'), 'fallback'],
  ['range start is inclusive', req('/range', { 'x-n': '10' }), 'range'],
  ['range end is exclusive', req('/range', { 'x-n': '20' }), 'fallback'],
  ['range needs an integer', req('/range', { 'x-n': '15.5' }), 'fallback'],
  ['treat_missing_header_as_empty matches an empty exact', req('/empty'), 'missing-as-empty'],
  ['query values are percent-decoded', req('/q?name=a%20b'), 'query-decoded'],
  ['query present_match', req('/q?x=1&debug'), 'query-present'],
  ['query matcher fails when the parameter is missing', req('/q?other=1'), 'fallback'],
  ['string matcher ignore_case', req('/s', { 'x-s': 'Example.com' }), 'ignore-case-suffix'],
];

t.test('matchRoute', async (t) => {
  for (const [name, r, want] of cases) t.equal(matchRoute(vh, r)?.name, want, name);
});

t.test('matchRoute returns undefined when nothing matches', async (t) => {
  const only = routeConfig(`virtual_hosts: [{ name: v, domains: ["*"], routes: [{ match: { path: /a }, direct_response: { status: 200 } }] }]`);
  t.equal(matchRoute(only.virtualHosts[0], req('/b')), undefined);
});

const vrc = routeConfig(`
virtual_hosts:
- { name: exact, domains: [api.example.com], routes: [] }
- { name: exact-port, domains: ["api.example.com:8080"], routes: [] }
- { name: short-suffix, domains: ["*.com"], routes: [] }
- { name: long-suffix, domains: ["*.example.com"], routes: [] }
- { name: dash-suffix, domains: ["*-bar.example.com"], routes: [] }
- { name: prefix, domains: ["api.*"], routes: [] }
- { name: longer-prefix, domains: ["api.internal.*"], routes: [] }
- { name: star, domains: ["*"], routes: [] }
`);
const vcases: [string, string, string | undefined][] = [
  ['exact wins over wildcards', 'api.example.com', 'exact'],
  ['matching is case-insensitive', 'API.Example.COM', 'exact'],
  ['a domain with the port is preferred when listed', 'api.example.com:8080', 'exact-port'],
  ['the port is stripped when nothing matches with it', 'www.example.com:9090', 'long-suffix'],
  ['a prefix wildcard matches with the port, before stripping', 'api.example.com:9090', 'prefix'],
  ['longest suffix wildcard wins', 'www.example.com', 'long-suffix'],
  ['suffix wildcard may end in a dash part', 'foo-bar.example.com', 'dash-suffix'],
  ['suffix wildcard must match at least one character', '.example.com', 'short-suffix'],
  ['suffix beats prefix', 'api.foo.com', 'short-suffix'],
  ['longest prefix wildcard wins', 'api.internal.local', 'longer-prefix'],
  ['prefix wildcard', 'api.local', 'prefix'],
  ['* catches the rest', 'other.local', 'star'],
  ['IPv6 authority with port', '[::1]:80', 'star'],
];
t.test('selectVirtualHost', async (t) => {
  for (const [name, host, want] of vcases) t.equal(selectVirtualHost(vrc, host)?.name, want, name);
  const noStar = routeConfig(`virtual_hosts: [{ name: a, domains: [a.com], routes: [] }]`);
  t.equal(selectVirtualHost(noStar, 'b.com'), undefined, 'no match and no * -> undefined');
  const { vhostIndex: _i, ...withoutIndex } = vrc;
  t.equal(selectVirtualHost(withoutIndex, 'www.example.com')?.name, 'long-suffix', 'works without a precompiled index');
});

t.test('pickWeightedCluster follows the weights', async (t) => {
  const w = routeConfig(`
virtual_hosts:
- name: v
  domains: ["*"]
  routes:
  - match: { prefix: / }
    route: { weighted_clusters: { clusters: [{ name: a, weight: 90 }, { name: zero, weight: 0 }, { name: b, weight: 10 }] } }
`);
  const action = w.virtualHosts[0].routes[0].action as ForwardActionRt;
  t.equal(action.totalWeight, 100);
  t.equal(pickWeightedCluster(action, 0).name, 'a');
  t.equal(pickWeightedCluster(action, 0.899).name, 'a');
  t.equal(pickWeightedCluster(action, 0.9).name, 'b');
  t.equal(pickWeightedCluster(action, 0.9999).name, 'b');
  t.notOk(action.clusters.some((c) => c.name === 'zero'), 'zero-weight clusters are never picked');
});
