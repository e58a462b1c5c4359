import t from 'tap';
import { formatIssue, isHttp2Protocol, isHttpProtocol, parseManifests, parseProtocol, selectPortProtocol, validateResource } from '../src/index.js';

const errorsOf = (yaml: string): string[] => {
  const v = validateResource(parseManifests(yaml)[0].value);
  return v.ok === false ? [...v.errors, ...v.warnings].map(formatIssue) : v.ok === true ? v.warnings.map(formatIssue) : [];
};

t.test('errors name kind, namespace/name and the field', async (t) => {
  t.same(
    errorsOf(`apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: { name: reviews }
spec:
  hosts: [reviews]
  http:
  - route:
    - destination: { host: reviews, subset: v1 }
      weight: 80
    - destination: { host: reviews, subset: v2 }
      weight: 20.5
    retries: { attempts: 2, retryOn: "5xx,sometimes" }
    timeout: soon
    mirrorPercent: 5
    bogus: 1
`),
    [
      'VirtualService default/reviews: spec.http[0].bogus: unknown field',
      'VirtualService default/reviews: spec.http[0].route[1].weight: must be an integer 0..100',
      'VirtualService default/reviews: spec.http[0].timeout: must be a duration such as 1s or 500ms',
      'VirtualService default/reviews: spec.http[0].retries.retryOn: unknown retry condition "sometimes"',
      'VirtualService default/reviews: spec.http[0].mirrorPercent: is not translated by minimesh yet and is ignored',
    ],
  );
});

t.test('apiVersions v1alpha3, v1beta1, v1 are all accepted; others are not', async (t) => {
  for (const v of ['v1alpha3', 'v1beta1', 'v1']) {
    t.same(errorsOf(`apiVersion: networking.istio.io/${v}\nkind: Gateway\nmetadata: { name: g, namespace: x }\nspec: { selector: { istio: ingressgateway }, servers: [{ port: { number: 80, name: http, protocol: HTTP }, hosts: ['*'] }] }\n`), []);
  }
  t.same(errorsOf(`apiVersion: networking.istio.io/v2\nkind: Gateway\nmetadata: { name: g }\nspec: { servers: [] }\n`), [
    'Gateway default/g: apiVersion: must be one of networking.istio.io/v1alpha3, networking.istio.io/v1beta1, networking.istio.io/v1 for Gateway (got "networking.istio.io/v2")',
  ]);
});

t.test('DestinationRule and Service checks', async (t) => {
  t.same(
    errorsOf(`apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: r, namespace: shop }
spec:
  host: r
  trafficPolicy: { loadBalancer: { simple: FASTEST }, outlierDetection: { maxEjectionPercent: 101 } }
  subsets: [{ name: v1, labels: { version: v1 } }, { name: v1 }]
`),
    [
      'DestinationRule shop/r: spec.trafficPolicy.loadBalancer.simple: must be one of UNSPECIFIED, LEAST_CONN, RANDOM, PASSTHROUGH, ROUND_ROBIN, LEAST_REQUEST',
      'DestinationRule shop/r: spec.trafficPolicy.outlierDetection.maxEjectionPercent: must be an integer 0..100',
      'DestinationRule shop/r: spec.subsets[1].name: duplicate subset name "v1"',
    ],
  );
  t.same(errorsOf(`apiVersion: v1\nkind: Service\nmetadata: { name: s }\nspec: { ports: [{ port: 80 }, { name: b, port: 70000 }] }\n`), [
    'Service default/s: spec.ports[0].name: is required when a Service has more than one port',
    'Service default/s: spec.ports[1].port: must be an integer 1..65535',
  ]);
  t.equal(validateResource({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' } }).ok, 'ignored');
});

t.test('protocol selection follows Istio', async (t) => {
  t.equal(selectPortProtocol({ name: 'http' }), 'HTTP');
  t.equal(selectPortProtocol({ name: 'http-web' }), 'HTTP');
  t.equal(selectPortProtocol({ name: 'grpc-web' }), 'GRPC-Web');
  t.equal(selectPortProtocol({ name: 'HTTP2-x' }), 'HTTP2');
  t.equal(selectPortProtocol({ name: 'tcp', appProtocol: 'http' }), 'HTTP', 'appProtocol wins');
  t.equal(selectPortProtocol({ name: 'follower' }), 'Unsupported');
  t.equal(selectPortProtocol({ name: 'http', protocol: 'UDP' }), 'UDP');
  t.equal(selectPortProtocol({ appProtocol: 'kubernetes.io/h2c' }), 'HTTP2');
  t.equal(selectPortProtocol({ appProtocol: 'kubernetes.io/ws' }), 'HTTP');
  t.equal(selectPortProtocol({ appProtocol: 'kubernetes.io/wss' }), 'HTTPS');
  t.equal(selectPortProtocol({ name: 'http', appProtocol: 'custom' }), 'Unsupported', 'a set appProtocol is the name that counts, even unknown');
  t.equal(selectPortProtocol({ name: 'web', appProtocol: 'grpc-web' }), 'GRPC-Web');
  t.equal(selectPortProtocol({ name: 'web', appProtocol: 'HTTP2' }), 'HTTP2', 'case-insensitive');
  t.equal(selectPortProtocol({ name: 'GRPC-WEBfoo' }), 'GRPC-Web', 'a grpc-web prefix, any case');
  t.equal(selectPortProtocol({ name: 'grpc-webx-1' }), 'GRPC-Web');
  t.equal(selectPortProtocol({ name: 'grpc-foo' }), 'GRPC', 'the part before the first -');
  t.equal(selectPortProtocol({ name: 'http_proxy-x' }), 'HTTP_PROXY');
  for (const [name, want] of [['tcp-db', 'TCP'], ['udp', 'UDP'], ['https-x', 'HTTPS'], ['tls', 'TLS'], ['mongo-1', 'Mongo'], ['redis', 'Redis'], ['mysql-a', 'MySQL'], ['http2', 'HTTP2']] as const) {
    t.equal(selectPortProtocol({ name }), want, name);
  }
  t.equal(selectPortProtocol({ name: 'httpx' }), 'Unsupported', 'a prefix must end at the first -');
  for (const port of [25, 53, 3306, 27017]) t.equal(selectPortProtocol({ name: 'db', port }), 'TCP', `well-known port ${port} is TCP`);
  t.equal(selectPortProtocol({ port: 3306, name: 'http' }), 'HTTP', 'a name that says something wins over a well-known port');
  t.equal(selectPortProtocol({ name: 'db', port: 3307 }), 'Unsupported');
  t.equal(parseProtocol('kubernetes.io/h2c'), 'Unsupported', "Kubernetes' names are for appProtocol only");
  t.equal(parseProtocol('GRPC-WEB'), 'GRPC-Web');
  t.ok(isHttpProtocol('HTTP_PROXY') && isHttpProtocol('GRPC') && !isHttpProtocol('TCP'));
  t.ok(isHttp2Protocol('GRPC-Web') && isHttp2Protocol('HTTP2') && !isHttp2Protocol('HTTP'));
});

t.test('gRPC-Web ports and servers are warned about; h2 connection pool settings are validated', async (t) => {
  const svc = validateResource({ apiVersion: 'v1', kind: 'Service', metadata: { name: 's', namespace: 'a' }, spec: { ports: [{ name: 'grpc-web', port: 80 }, { name: 'x', port: 81, appProtocol: 'grpc-web-2' }] } });
  t.ok(svc.ok === true);
  if (svc.ok === true) {
    t.same(svc.warnings.map(formatIssue), [
      'Service a/s: spec.ports[0].name: selects gRPC-Web, which is not translated by minimesh: served as plain HTTP (HTTP/1.1 upstream, no gRPC-Web filter)',
      'Service a/s: spec.ports[1].appProtocol: selects gRPC-Web, which is not translated by minimesh: served as plain HTTP (HTTP/1.1 upstream, no gRPC-Web filter)',
    ]);
  }
  const dr = (http: Record<string, unknown>) =>
    validateResource({ apiVersion: 'networking.istio.io/v1', kind: 'DestinationRule', metadata: { name: 'd', namespace: 'a' }, spec: { host: 'h', trafficPolicy: { connectionPool: { http } } } });
  const good = dr({ h2UpgradePolicy: 'UPGRADE', useClientProtocol: true, maxConcurrentStreams: 10 });
  t.ok(good.ok === true && good.warnings.length === 0, 'h2UpgradePolicy, useClientProtocol and maxConcurrentStreams are translated');
  const bad = dr({ h2UpgradePolicy: 'SOMETIMES', useClientProtocol: 'yes', maxConcurrentStreams: -1 });
  t.same(bad.ok === false ? bad.errors.map(formatIssue) : [], [
    'DestinationRule a/d: spec.trafficPolicy.connectionPool.http.maxConcurrentStreams: must be an integer 0..2147483647',
    'DestinationRule a/d: spec.trafficPolicy.connectionPool.http.h2UpgradePolicy: must be one of DEFAULT, DO_NOT_UPGRADE, UPGRADE',
    'DestinationRule a/d: spec.trafficPolicy.connectionPool.http.useClientProtocol: must be true or false',
  ]);
});

t.test('mirrors: each destination and percentage checked; not together with mirror', async (t) => {
  const vs = (http: string): string => `apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: { name: web }\nspec:\n  hosts: [web]\n  http:\n${http}`;
  t.same(errorsOf(vs(`  - route: [{ destination: { host: web } }]\n    mirrors: [{ destination: { host: web-v2 }, percentage: { value: 50 } }, { destination: { host: web-v3 } }]\n`)), []);
  t.same(errorsOf(vs(`  - route: [{ destination: { host: web } }]\n    mirror: { host: web-v2 }\n    mirrors: [{ destination: { host: web-v3 }, percentage: { value: 150 } }, { percentage: { value: 5 } }]\n`)), [
    'VirtualService default/web: spec.http[0]: mirror and mirrors cannot both be set',
    'VirtualService default/web: spec.http[0].mirrors[0].percentage.value: must be a number 0..100',
    'VirtualService default/web: spec.http[0].mirrors[1].destination: is required',
  ]);
});
