/**
 * VirtualService `corsPolicy` -> the CORS filter's per-route CorsPolicy and the filter in the
 * connection manager (before the router), compiled with the proxy's compiler; and `headers`
 * values with `%OPERATOR%`s reach the proxy's compiler as formatted values.
 */
import t from 'tap';
import type { generateForProxy } from '../src/index.js';
import { API_SERVICE_YAML, generateFromYaml } from './helpers/generate-yaml.js';
import { compileAll } from './helpers/compile.js';

const base = API_SERVICE_YAML;

function generate(extra: string) {
  const { res, issues } = generateFromYaml(base + '---\n' + extra);
  return { res, issues };
}

type Obj = Record<string, unknown>;
function routesOf(res: ReturnType<typeof generateForProxy>): Obj[] {
  const rc = res.routes.find((r) => r.name === '8080') as { virtual_hosts: { name: string; routes: Obj[] }[] };
  return rc.virtual_hosts.find((v) => v.name.startsWith('api.shop'))!.routes;
}

const VS = `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: api, namespace: shop }
spec:
  hosts: [api]
  http:
  - match: [{ uri: { prefix: /cors } }]
    corsPolicy:
      allowOrigins: [{ exact: "https://a.example.com" }, { prefix: "https://dev." }, { regex: "https://.*\\\\.example\\\\.org" }]
      allowMethods: [GET, POST]
      allowHeaders: [content-type, x-token]
      exposeHeaders: [x-trace]
      maxAge: 24h
      allowCredentials: true
    fault: { abort: { httpStatus: 418, percentage: { value: 0 } } }
    route: [{ destination: { host: api } }]
  - match: [{ uri: { prefix: /strict } }]
    corsPolicy: { allowOrigin: ["https://old.example.com"], unmatchedPreflights: IGNORE }
    route: [{ destination: { host: api } }]
  - headers:
      request: { set: { x-client: "%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%" } }
      response: { add: { x-served-by: "%UPSTREAM_HOST% 100%%" } }
    route: [{ destination: { host: api } }]
`;

t.test('corsPolicy becomes the route\'s CorsPolicy, as Istio writes it', async (t) => {
  const { res, issues } = generate(VS);
  t.same(issues, [], 'validated, no warning');
  const [cors, strict] = routesOf(res);
  const tpfc = cors.typed_per_filter_config as Obj;
  t.ok(tpfc['envoy.filters.http.fault'], 'the fault stays beside it');
  t.same(tpfc['envoy.filters.http.cors'], {
    '@type': 'type.googleapis.com/envoy.extensions.filters.http.cors.v3.CorsPolicy',
    allow_origin_string_match: [{ exact: 'https://a.example.com' }, { prefix: 'https://dev.' }, { safe_regex: { regex: 'https://.*\\.example\\.org' } }],
    allow_methods: 'GET,POST',
    allow_headers: 'content-type,x-token',
    expose_headers: 'x-trace',
    max_age: '86400',
    allow_credentials: true,
    filter_enabled: { default_value: { numerator: 100, denominator: 'HUNDRED' } },
    forward_not_matching_preflights: true,
  });
  const s = (strict.typed_per_filter_config as Obj)['envoy.filters.http.cors'] as Obj;
  t.same(s.allow_origin_string_match, [{ exact: 'https://old.example.com' }], 'the deprecated allowOrigin as exact matches');
  t.equal(s.forward_not_matching_preflights, false, 'unmatchedPreflights IGNORE');
  t.equal(s.allow_methods, undefined);
});

t.test('the connection manager runs the CORS filter after fault, before the router; everything compiles', async (t) => {
  const { res } = generate(VS);
  const text = JSON.stringify(res.listeners);
  const names = [...text.matchAll(/"name":"(envoy\.filters\.http\.[a-z_]+)"/g)].map((m) => m[1]);
  const i = names.indexOf('envoy.filters.http.cors');
  t.ok(i > 0, 'the cors filter is in a chain');
  t.equal(names[i - 1], 'envoy.filters.http.fault');
  t.equal(names[i + 1], 'envoy.filters.http.router');
  const c = compileAll(res);
  t.same(c.errors, []);
  const rt = c.routes.get('8080')!.virtualHosts.find((v) => v.name.startsWith('api.shop'))!;
  const policy = rt.routes[0].cors!;
  t.equal(policy.allowOrigins.length, 3);
  t.equal(policy.maxAge, '86400');
  t.equal(policy.allowCredentials, true);
  t.equal(rt.routes[1].cors!.forwardNotMatchingPreflights, false);
  const hdrs = rt.routes[2];
  t.same(hdrs.requestHeadersToAdd[0].format, [{ kind: 'op', op: 'DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT', maxLength: undefined }]);
  t.same(hdrs.responseHeadersToAdd[0].format?.map((p) => p.kind), ['op', 'literal']);
  const plain = generate('');
  t.notOk(JSON.stringify(plain.res.listeners).includes('envoy.filters.http.cors'), 'no corsPolicy: no filter');
});

t.test('a bad corsPolicy is an error naming the field', async (t) => {
  const { issues } = generate(`
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: api, namespace: shop }
spec:
  hosts: [api]
  http:
  - corsPolicy: { allowOrigins: [{ exact: a, prefix: b }], maxAge: soon, unmatchedPreflights: DROP, bogus: 1 }
    route: [{ destination: { host: api } }]
`);
  const text = issues.map((i) => `${i.level} ${i.field} ${i.message}`).join('\n');
  t.match(text, /error spec\.http\[0\]\.corsPolicy\.bogus unknown field/);
  t.match(text, /corsPolicy\.allowOrigins\[0\].*only one of exact, prefix, regex/);
  t.match(text, /corsPolicy\.maxAge/);
  t.match(text, /corsPolicy\.unmatchedPreflights.*must be one of UNSPECIFIED, FORWARD, IGNORE/);
});

t.test('headers values: an operator the proxy does not evaluate is an error naming the field', async (t) => {
  const { issues } = generate(`
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: api, namespace: shop }
spec:
  hosts: [api]
  http:
  - headers:
      request: { set: { x-a: "%UPSTREAM_METADATA(x)%", x-ok: "%REQ(x-b)% 5%%" } }
      response: { add: { x-c: "50%" } }
    route: [{ destination: { host: api } }]
`);
  const text = issues.map((i) => `${i.level} ${i.field} ${i.message}`).join('\n');
  t.match(text, /error spec\.http\[0\]\.headers\.request\.set\.x-a unknown header value operator %UPSTREAM_METADATA\(x\)%/);
  t.match(text, /error spec\.http\[0\]\.headers\.response\.add\.x-c unterminated %-operator/);
  t.notMatch(text, /x-ok/, 'good values pass');
});
