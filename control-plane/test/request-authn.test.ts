/**
 * RequestAuthentication translation: validation (errors naming the field), which policies
 * apply (root namespace, the proxy's namespace, selectors; targetRefs never on a sidecar),
 * Istio's providers `origins-N` sorted by issuer and its requirement (one provider: itself or
 * no token; several: any of them, or each valid-or-missing), jwt_authn before the RBAC filters
 * and nowhere on TCP listeners, and the compiled filter (@minimesh/config).
 */
import t from 'tap';
import { fromJsonData, TYPE_URL } from '@minimesh/api';
import { compileListener } from '@minimesh/config';
import { formatIssue } from '@minimesh/kube';
import { buildMeshModel, generateForProxy, loadManifests, proxyIdentity } from '../src/index.js';

const WORKLOAD = `apiVersion: v1
kind: Service
metadata: { name: httpbin, namespace: foo }
spec: { selector: { app: httpbin }, ports: [{ name: http, port: 8000, targetPort: 8080 }, { name: tcp, port: 9000 }] }
---
apiVersion: v1
kind: Pod
metadata: { name: httpbin-1, namespace: foo, labels: { app: httpbin } }
spec: { containers: [{ name: c, image: i, ports: [{ containerPort: 8080 }, { containerPort: 9000 }] }] }
status: { podIP: 10.8.0.2, phase: Running }
---
`;
const NODE = 'sidecar~10.8.0.2~httpbin-1.foo~foo.svc.cluster.local';
const JWKS = '{"keys":[]}';

const ra = (name: string, ns: string, spec: string): string => `apiVersion: security.istio.io/v1beta1
kind: RequestAuthentication
metadata: { name: ${name}, namespace: ${ns} }
spec: ${spec}
---
`;

function translate(yaml: string) {
  const loaded = loadManifests(WORKLOAD + yaml, 'in.yaml');
  const model = buildMeshModel(loaded.resources.map((r) => r.resource));
  const res = generateForProxy(model, proxyIdentity(NODE, {}, model));
  const filters = (port: number) => {
    const l = res.listeners.find((x) => x.name === `10.8.0.2_${port}`)! as { filter_chains: { filters: { name: string; typed_config: { http_filters?: { name: string; typed_config: Record<string, unknown> }[] } }[] }[] };
    return l.filter_chains[0].filters;
  };
  const jwt = () => filters(8080)[0].typed_config.http_filters?.find((f) => f.name === 'envoy.filters.http.jwt_authn')?.typed_config;
  return { issues: loaded.issues.map(formatIssue), res, filters, jwt };
}

t.test('validation names the field at fault', async (t) => {
  const { issues } = translate(
    ra('bad', 'foo', `{ selector: { matchLabels: { app: httpbin } }, targetRefs: [{ kind: Gateway, name: gw }], jwtRules: [{ audiences: [""] }, { issuer: a, jwksUri: "ftp://x/keys" }, { issuer: b, jwks: "{not json" }, { issuer: c, jwks: '{"nokeys":1}' }, { issuer: d, fromHeaders: [{ prefix: "Bearer " }], outputPayloadToHeader: "bad header", timeout: soon }, { issuer: e, unknownThing: 1 }] }`),
  );
  const want = [
    'spec.jwtRules[0].issuer: is required',
    'spec.jwtRules[0].audiences[0]: must not be empty',
    'spec.jwtRules[1].jwksUri: "ftp://x/keys" is not an http or https URL',
    'spec.jwtRules[2].jwks: is not JSON',
    'spec.jwtRules[3].jwks: must be a JSON Web Key Set',
    'spec.jwtRules[4].fromHeaders[0].name: is required',
    'spec.jwtRules[4].outputPayloadToHeader: "bad header" is not a valid HTTP header name',
    'spec.jwtRules[4].timeout: must be a duration',
    'spec.jwtRules[5].unknownThing: unknown field',
    'spec: only one of selector, targetRef or targetRefs can be set',
  ];
  for (const w of want) t.ok(issues.some((i) => i.includes('RequestAuthentication foo/bad') && i.includes(w)), w);
});

t.test('which policies apply: root namespace, own namespace, selector', async (t) => {
  const rule = (iss: string) => `{ jwtRules: [{ issuer: ${iss}, jwks: '${JWKS}' }] }`;
  const { jwt, issues } = translate(
    ra('mesh', 'istio-system', rule('mesh.example')) +
      ra('ns', 'foo', rule('ns.example')) +
      ra('other-ns', 'bar', rule('bar.example')) +
      ra('mine', 'foo', `{ selector: { matchLabels: { app: httpbin } }, jwtRules: [{ issuer: a.example, jwks: '${JWKS}' }] }`) +
      ra('not-mine', 'foo', `{ selector: { matchLabels: { app: other } }, jwtRules: [{ issuer: other.example, jwks: '${JWKS}' }] }`) +
      ra('waypoint', 'foo', `{ targetRefs: [{ kind: Gateway, group: gateway.networking.k8s.io, name: wp }], jwtRules: [{ issuer: wp.example, jwks: '${JWKS}' }] }`),
  );
  t.same(issues.filter((i) => i.includes('error')), []);
  const providers = jwt()!.providers as Record<string, { issuer: string }>;
  t.same(
    Object.entries(providers).map(([k, v]) => [k, v.issuer]),
    [
      ['origins-0', 'a.example'],
      ['origins-1', 'mesh.example'],
      ['origins-2', 'ns.example'],
    ],
    'sorted by issuer, named origins-N',
  );
});

t.test("Istio's filter: providers, requirement, order, compiled", async (t) => {
  const { jwt, filters, res } = translate(
    ra('r', 'foo', `{ jwtRules: [{ issuer: "https://b.example", jwksUri: "https://keys.example:8443/jwks", timeout: 2s, audiences: [x], fromHeaders: [{ name: x-jwt, prefix: "Tok " }], fromParams: [tok], forwardOriginalToken: true, outputPayloadToHeader: x-payload, outputClaimToHeaders: [{ header: x-sub, claim: sub }] }, { issuer: a.example, jwks: '${JWKS}' }] }`) +
      `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: p, namespace: foo }
spec: { rules: [{ from: [{ source: { requestPrincipals: ["*"] } }] }] }
---
`,
  );
  const c = jwt()!;
  const b = (c.providers as Record<string, Record<string, unknown>>)['origins-1'];
  t.same(b, {
    issuer: 'https://b.example',
    audiences: ['x'],
    remote_jwks: { http_uri: { uri: 'https://keys.example:8443/jwks', cluster: 'outbound|8443||keys.example', timeout: '2s' }, cache_duration: '300s' },
    forward: true,
    from_headers: [{ name: 'x-jwt', value_prefix: 'Tok ' }],
    from_params: ['tok'],
    forward_payload_header: 'x-payload',
    payload_in_metadata: 'payload',
    normalize_payload_in_metadata: { space_delimited_claims: ['permission', 'scope'] },
    claim_to_headers: [{ header_name: 'x-sub', claim_name: 'sub' }],
  });
  const opt = (n: string) => ({ requires_any: { requirements: [{ provider_name: n }, { allow_missing: {} }] } });
  t.same(c.rules, [{ match: { prefix: '/' }, requires: { requires_any: { requirements: [{ provider_name: 'origins-0' }, { provider_name: 'origins-1' }, { requires_all: { requirements: [opt('origins-0'), opt('origins-1')] } }] } } }]);
  t.equal(c.bypass_cors_preflight, true);
  const names = filters(8080)[0].typed_config.http_filters!.map((f) => f.name);
  t.ok(names.indexOf('envoy.filters.http.jwt_authn') < names.indexOf('envoy.filters.http.rbac'), `jwt_authn before rbac: ${names.join(', ')}`);
  t.notOk(JSON.stringify(filters(9000)).includes('jwt_authn'), 'no jwt_authn on a TCP port');
  const l = res.listeners.find((x) => x.name === '10.8.0.2_8080')!;
  const p = fromJsonData<never>(TYPE_URL.Listener, l);
  if (!p.ok) throw new Error(JSON.stringify(p.errors));
  const compiled = compileListener(p.value);
  t.ok(compiled.ok, JSON.stringify(compiled.ok ? '' : compiled.errors));
  const rt = compiled.ok && 'hcm' in compiled.value ? compiled.value.hcm?.jwtAuthn : undefined;
  t.same(rt?.providers.get('origins-1')?.jwks, { kind: 'remote', uri: 'https://keys.example:8443/jwks', timeoutMs: 2000, cacheMs: 300_000 });
  t.same(rt?.providers.get('origins-0')?.locations.map((x) => x.name), ['authorization', 'access_token'], "Envoy's default token locations");
});

t.test('a rule without jwks or jwksUri: a warning, an empty key set', async (t) => {
  const { jwt, res } = translate(ra('r', 'foo', '{ jwtRules: [{ issuer: nokeys.example }] }'));
  t.same((jwt()!.providers as Record<string, Record<string, unknown>>)['origins-0'].local_jwks, { inline_string: '{"keys":[]}' });
  t.ok(res.warnings.some((w) => w.includes('RequestAuthentication foo/r') && w.includes('neither jwks nor jwksUri')));
});

t.test('an ingress gateway selected in the root namespace verifies tokens too', async (t) => {
  const yaml = `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: gw, namespace: foo }
spec:
  selector: { istio: ingressgateway }
  servers: [{ port: { number: 80, name: http, protocol: HTTP }, hosts: ["*"] }]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: vs, namespace: foo }
spec:
  hosts: ["*"]
  gateways: [gw]
  http: [{ route: [{ destination: { host: httpbin.foo.svc.cluster.local, port: { number: 8000 } } }] }]
---
${ra('gw-jwt', 'istio-system', `{ selector: { matchLabels: { istio: ingressgateway } }, jwtRules: [{ issuer: gw.example, jwks: '${JWKS}' }] }`)}`;
  const loaded = loadManifests(WORKLOAD + yaml, 'in.yaml');
  const model = buildMeshModel(loaded.resources.map((r) => r.resource));
  const gw = generateForProxy(model, proxyIdentity('router~10.9.0.1~gw-0.istio-system~istio-system.svc.cluster.local', { LABELS: { istio: 'ingressgateway' } }, model));
  const text = JSON.stringify(gw.listeners);
  t.ok(gw.listeners.length > 0);
  t.ok(text.includes('"issuer":"gw.example"'), 'the gateway listener has the jwt_authn filter');
  const side = generateForProxy(model, proxyIdentity(NODE, {}, model));
  t.notOk(JSON.stringify(side.listeners).includes('gw.example'), 'the sidecar, not selected, has none');
});
