/** Inbound filter chains per PeerAuthentication mode (facts §2, "Chains by mode"). */
import t from 'tap';
import { inboundMtlsChains, MESH_HTTP_ALPNS } from '../src/generate/build-inbound-mtls.js';

const hcm = { name: 'envoy.filters.network.http_connection_manager', typed_config: {} };
const tcp = { name: 'envoy.filters.network.tcp_proxy', typed_config: {} };
type Chain = { filter_chain_match: { transport_protocol: string; application_protocols?: string[] }; filters: { name: string; typed_config: Record<string, any> }[]; transport_socket?: { typed_config: Record<string, any> } };

t.test('PERMISSIVE: the mTLS chain, then plain text', async (t) => {
  const chains = inboundMtlsChains('PERMISSIVE', true, [hcm]) as unknown as Chain[];
  t.same(chains.map((c) => c.filter_chain_match.transport_protocol), ['tls', 'raw_buffer']);
  t.same(chains[0].filter_chain_match.application_protocols, [...MESH_HTTP_ALPNS, 'istio-peer-exchange', 'istio']);
  const ctx = chains[0].transport_socket!.typed_config;
  t.equal(ctx.require_client_certificate, true);
  t.same(ctx.common_tls_context.alpn_protocols, ['h2', 'http/1.1'], 'an HTTP chain serves h2 and http/1.1');
  t.equal(ctx.common_tls_context.tls_certificate_sds_secret_configs[0].name, 'default');
  t.equal(ctx.common_tls_context.combined_validation_context.validation_context_sds_secret_config.name, 'ROOTCA');
  t.notOk(chains[1].transport_socket, 'the plain-text chain has no TLS');
});

t.test('STRICT: TLS only; DISABLE: plain text only; TCP ports run the metadata exchange', async (t) => {
  t.same((inboundMtlsChains('STRICT', true, [hcm]) as unknown as Chain[]).map((c) => c.filter_chain_match.transport_protocol), ['tls']);
  t.same((inboundMtlsChains('DISABLE', true, [hcm]) as unknown as Chain[]).map((c) => c.filter_chain_match.transport_protocol), ['raw_buffer']);
  const [tls] = inboundMtlsChains('STRICT', false, [tcp]) as unknown as Chain[];
  t.same(tls.filter_chain_match.application_protocols, ['istio-peer-exchange', 'istio']);
  t.same(tls.transport_socket!.typed_config.common_tls_context.alpn_protocols, ['istio-peer-exchange', 'h2', 'http/1.1']);
  t.same(
    tls.filters.map((f) => f.name),
    ['istio.metadata_exchange', 'envoy.filters.network.tcp_proxy'],
    'the TCP mTLS chain runs the exchange first',
  );
  t.same(tls.filters[0].typed_config, {
    '@type': 'type.googleapis.com/udpa.type.v1.TypedStruct',
    type_url: 'type.googleapis.com/envoy.tcp.metadataexchange.config.MetadataExchange',
    value: { protocol: 'istio-peer-exchange', enable_discovery: true },
  });
  const [httpTls, plain] = inboundMtlsChains('PERMISSIVE', true, [hcm]) as unknown as Chain[];
  t.same(httpTls.filters.map((f) => f.name), [hcm.name], 'an HTTP chain runs no TCP exchange (and never selects its ALPN)');
  const [, tcpPlain] = inboundMtlsChains('PERMISSIVE', false, [tcp]) as unknown as Chain[];
  t.same(tcpPlain.filters.map((f) => f.name), [tcp.name], 'nor does a plain-text chain');
  t.ok(plain);
});
