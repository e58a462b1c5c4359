import t from 'tap';
import { buildHttpProtocolOptions, shouldH2Upgrade } from '../src/generate/upstream-protocol.js';

t.test("shouldH2Upgrade: Istio's table", async (t) => {
  const cases: [string, 'DO_NOT_UPGRADE' | 'UPGRADE', Record<string, unknown> | undefined, boolean][] = [
    ['HTTP', 'DO_NOT_UPGRADE', undefined, false],
    ['HTTP', 'UPGRADE', undefined, true],
    ['HTTP', 'UPGRADE', { h2UpgradePolicy: 'DEFAULT' }, true],
    ['HTTP', 'UPGRADE', { h2UpgradePolicy: 'DO_NOT_UPGRADE' }, false],
    ['HTTP', 'DO_NOT_UPGRADE', { h2UpgradePolicy: 'UPGRADE' }, true],
    ['HTTP', 'UPGRADE', { h2UpgradePolicy: 'UPGRADE', useClientProtocol: true }, false],
    ['Unsupported', 'UPGRADE', undefined, false],
    ['Unsupported', 'DO_NOT_UPGRADE', { h2UpgradePolicy: 'UPGRADE' }, true],
    ['TCP', 'UPGRADE', undefined, false],
    ['GRPC-Web', 'UPGRADE', undefined, true],
    ['HTTP_PROXY', 'UPGRADE', undefined, true],
  ];
  for (const [protocol, mesh, http, want] of cases) t.equal(shouldH2Upgrade(protocol as never, mesh, http as never), want, `${protocol} mesh=${mesh} ${JSON.stringify(http ?? {})}`);
});

t.test('buildHttpProtocolOptions: the port decides first, the policy after', async (t) => {
  const b = (protocol: string, sidecar: boolean, http?: Record<string, unknown>, mesh: 'DO_NOT_UPGRADE' | 'UPGRADE' = 'DO_NOT_UPGRADE') =>
    buildHttpProtocolOptions({ protocol: protocol as never, sidecar, mesh, http: http as never });
  const type = 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions';
  t.same(b('GRPC', false), { '@type': type, explicit_http_config: { http2_protocol_options: {} } });
  t.same(b('HTTP', true), undefined, 'plain HTTP needs no options');
  t.same(b('GRPC-Web', true), undefined, 'gRPC-Web is served as plain HTTP');
  t.same(b('Unsupported', true), { '@type': type, use_downstream_protocol_config: { http_protocol_options: {}, http2_protocol_options: {} } });
  t.same(b('Unsupported', false), undefined, 'gateways do not use the downstream protocol on their own');
  t.same(b('Unsupported', true, { h2UpgradePolicy: 'UPGRADE' }), { '@type': type, explicit_http_config: { http2_protocol_options: {} } }, 'a DR UPGRADE beats sniffing');
  t.same(b('GRPC', true, { useClientProtocol: true }), { '@type': type, use_downstream_protocol_config: { http_protocol_options: {}, http2_protocol_options: {} } });
  t.same(b('HTTP', true, { maxConcurrentStreams: 9 }), undefined, 'maxConcurrentStreams only on HTTP/2 clusters');
  t.same(b('HTTP2', true, { maxConcurrentStreams: 9, idleTimeout: '5s' }), {
    '@type': type,
    common_http_protocol_options: { idle_timeout: '5s' },
    explicit_http_config: { http2_protocol_options: { max_concurrent_streams: 9 } },
  });
  t.same(b('TCP', true, { maxRequestsPerConnection: 3 }), { '@type': type, common_http_protocol_options: { max_requests_per_connection: 3 }, explicit_http_config: { http_protocol_options: {} } }, 'options without a protocol default to HTTP/1.1, as Envoy requires one');
});
