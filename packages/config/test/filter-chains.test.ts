/**
 * Filter chains with matches and TLS transport sockets, cluster transport sockets and
 * transport_socket_matches, and Envoy's chain selection order.
 */
import t from 'tap';
import { parseBootstrap } from '@minimesh/api';
import { compileBootstrap, selectFilterChain, upstreamTlsFor, type FilterChainMatchRt, type RuntimeConfig } from '../src/index.js';
import { fmt } from './helpers.js';

const HCM = `
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: s
          http_filters: [{ name: envoy.filters.http.router }]
          route_config: { virtual_hosts: [{ name: v, domains: ["*"], routes: [{ match: { prefix: / }, route: { cluster: c } }] }] }`;
const TCP = `
      - name: envoy.filters.network.tcp_proxy
        typed_config: { "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy, stat_prefix: t, cluster: c }`;
const DOWNSTREAM_TLS = `
      transport_socket:
        name: envoy.transport_sockets.tls
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext
          require_client_certificate: true
          common_tls_context:
            alpn_protocols: [h2, http/1.1]
            tls_params: { tls_minimum_protocol_version: TLSv1_2, tls_maximum_protocol_version: TLSv1_3, cipher_suites: ["[ECDHE-ECDSA-AES256-GCM-SHA384|ECDHE-RSA-AES256-GCM-SHA384]"] }
            tls_certificate_sds_secret_configs: [{ name: default, sds_config: { api_config_source: { api_type: GRPC, grpc_services: [{ envoy_grpc: { cluster_name: sds-grpc } }] } } }]
            combined_validation_context:
              default_validation_context: {}
              validation_context_sds_secret_config: { name: ROOTCA }`;
const UPSTREAM_TLS = `
        name: envoy.transport_sockets.tls
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext
          sni: outbound_.8080_._.svc.ns.svc.cluster.local
          common_tls_context:
            alpn_protocols: [istio-peer-exchange, istio]
            tls_certificate_sds_secret_configs: [{ name: default }]
            combined_validation_context:
              default_validation_context: { match_typed_subject_alt_names: [{ san_type: URI, matcher: { exact: "spiffe://cluster.local/ns/ns/sa/server" } }] }
              validation_context_sds_secret_config: { name: ROOTCA }`;

function bootstrap(chains: string, listenerExtra = '', clusterExtra = '', endpointExtra = ''): string {
  return `
static_resources:
  listeners:
  - name: l
    address: { socket_address: { address: 0.0.0.0, port_value: 15006 } }
    ${listenerExtra}
    filter_chains:${chains}
  clusters:
  - name: c
    load_assignment: { endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: 2 } } } ${endpointExtra} }] }] }
    ${clusterExtra}
`;
}

function compile(text: string): { ok: true; value: RuntimeConfig } | { ok: false; errors: string[] } {
  const p = parseBootstrap(text, 'b.yaml');
  if (!p.ok) return { ok: false, errors: p.errors.map(fmt) };
  const c = compileBootstrap(p.value);
  return c.ok ? { ok: true, value: c.value } : { ok: false, errors: c.errors.map(fmt) };
}

const PERMISSIVE = `
    - filter_chain_match: { transport_protocol: tls, application_protocols: [istio-http/1.0, istio-http/1.1, istio-h2] }
      filters:${HCM}${DOWNSTREAM_TLS}
    - filter_chain_match: { transport_protocol: raw_buffer, application_protocols: [http/1.1, h2c] }
      filters:${HCM}
    - filter_chain_match: { transport_protocol: tls, application_protocols: [istio-peer-exchange, istio] }
      filters:${TCP}${DOWNSTREAM_TLS}
    - filter_chain_match: { transport_protocol: raw_buffer }
      filters:${TCP}
    - filter_chain_match: { transport_protocol: tls }
      filters:${TCP}`;

t.test('a PERMISSIVE-shaped inbound listener compiles to five chains with their TLS', async (t) => {
  const r = compile(bootstrap(PERMISSIVE, 'listener_filters: [{ name: envoy.filters.listener.tls_inspector }, { name: envoy.filters.listener.http_inspector }]'));
  t.ok(r.ok, r.ok ? '' : r.errors.join('\n'));
  if (!r.ok) return;
  const l = r.value.listeners[0];
  t.equal(l.hcm, undefined, 'no single-chain HCM');
  t.same(l.inspectors, { tls: true, http: true });
  const chains = l.filterChains!;
  t.equal(chains.length, 5);
  t.same(chains.map((c) => [c.hcm ? 'http' : 'tcp', c.tls ? 'tls' : 'plain']), [
    ['http', 'tls'],
    ['http', 'plain'],
    ['tcp', 'tls'],
    ['tcp', 'plain'],
    ['tcp', 'plain'],
  ]);
  const tls = chains[0].tls!;
  t.equal(tls.requireClientCertificate, true);
  t.same(tls.common.certificateSds, ['default']);
  t.equal(tls.common.validation?.sdsSecret, 'ROOTCA');
  t.same(tls.common.alpnProtocols, ['h2', 'http/1.1']);
  t.equal(tls.common.minVersion, 'TLSv1.2');
  t.equal(tls.common.maxVersion, 'TLSv1.3');
  t.equal(tls.common.ciphers, 'ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384');
});

t.test('chain selection follows Envoy: port, server name, transport, then the client ALPN order', async (t) => {
  const r = compile(bootstrap(PERMISSIVE));
  if (!r.ok) return t.fail(r.errors.join('\n'));
  t.same(r.value.listeners[0].inspectors, { tls: true, http: false }, 'a tls match turns the TLS inspector on');
  const chains = r.value.listeners[0].filterChains!.map((c, i) => ({ match: c.match, i }));
  const pick = (transportProtocol: string, alpn: string[], serverName = ''): number | undefined => selectFilterChain(chains, { destinationPort: 15006, serverName, transportProtocol, applicationProtocols: alpn })?.i;
  t.equal(pick('tls', ['istio-http/1.1', 'istio', 'http/1.1']), 0, 'mesh HTTP over mTLS');
  t.equal(pick('tls', ['istio-peer-exchange', 'istio']), 2, 'mesh TCP over mTLS');
  t.equal(pick('tls', ['istio', 'istio-http/1.1']), 2, 'the client ALPN order decides');
  t.equal(pick('tls', ['h2']), 4, 'other TLS: passthrough');
  t.equal(pick('tls', []), 4);
  t.equal(pick('raw_buffer', ['http/1.1']), 1, 'plaintext HTTP (http_inspector)');
  t.equal(pick('raw_buffer', []), 3, 'plaintext TCP');
  const strict = chains.filter((c) => c.match.transportProtocol === 'tls');
  t.equal(selectFilterChain(strict, { destinationPort: 1, serverName: '', transportProtocol: 'raw_buffer', applicationProtocols: [] }), undefined, 'STRICT: no chain for plaintext');
  const m = (x: Partial<FilterChainMatchRt>, i: number) => ({ i, match: { destinationPort: undefined, serverNames: [], transportProtocol: '', applicationProtocols: [], ...x } });
  const byPort = [m({}, 0), m({ destinationPort: 8080, transportProtocol: 'tls' }, 1)];
  t.equal(selectFilterChain(byPort, { destinationPort: 8080, serverName: '', transportProtocol: 'raw_buffer', applicationProtocols: [] })?.i, undefined, 'no going back from a more specific port');
  t.equal(selectFilterChain(byPort, { destinationPort: 9090, serverName: '', transportProtocol: 'raw_buffer', applicationProtocols: [] })?.i, 0);
  const byName = [m({ serverNames: ['*.example.com'] }, 0), m({ serverNames: ['*.a.example.com'] }, 1), m({ serverNames: ['x.a.example.com'] }, 2), m({}, 3)];
  const name = (sni: string): number | undefined => selectFilterChain(byName, { destinationPort: 1, serverName: sni, transportProtocol: 'tls', applicationProtocols: [] })?.i;
  t.same([name('x.a.example.com'), name('y.a.example.com'), name('b.example.com'), name('other.org'), name('')], [2, 1, 0, 3, 3]);
});

t.test('bad chain configs are refused with their path', async (t) => {
  const cases: [string, string, RegExp][] = [
    ['same match twice', `\n    - filter_chain_match: { transport_protocol: tls }\n      filters:${TCP}\n    - filter_chain_match: { transport_protocol: tls }\n      filters:${TCP}`, /filter_chains\[1\]\.filter_chain_match: the same matching rules as filter_chains\[0\]/],
    ['unknown transport protocol', `\n    - filter_chain_match: { transport_protocol: quic }\n      filters:${TCP}`, /filter_chain_match\.transport_protocol: must be "tls" or "raw_buffer"/],
    ['source ranges', `\n    - filter_chain_match: { source_prefix_ranges: [{ address_prefix: 10.0.0.0, prefix_len: 8 }] }\n      filters:${TCP}`, /filter_chain_match\.source_prefix_ranges: source_prefix_ranges is not supported by minimesh yet/],
    ['a server without a certificate', `\n    - filters:${TCP}\n      transport_socket: { name: envoy.transport_sockets.tls, typed_config: { "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext } }`, /transport_socket\.typed_config\.common_tls_context: a server needs a certificate/],
    ['client certificate without roots', `\n    - filters:${TCP}\n      transport_socket: { name: envoy.transport_sockets.tls, typed_config: { "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext, require_client_certificate: true, common_tls_context: { tls_certificates: [{ certificate_chain: { filename: /c.pem }, private_key: { filename: /k.pem } }] } } }`, /require_client_certificate: needs a validation context/],
  ];
  for (const [what, chains, re] of cases) {
    const r = compile(bootstrap(chains));
    t.notOk(r.ok, what);
    if (!r.ok) t.match(r.errors.join('\n'), re, what);
  }
});

t.test('clusters: UpstreamTlsContext and transport_socket_matches on endpoint metadata', async (t) => {
  const one = compile(bootstrap(`\n    - filters:${HCM}`, '', `transport_socket:${UPSTREAM_TLS}`));
  if (!one.ok) return t.fail(one.errors.join('\n'));
  const tls = one.value.clusters.get('c')!.tls!;
  t.equal(tls.transportSocket?.sni, 'outbound_.8080_._.svc.ns.svc.cluster.local');
  t.same(tls.transportSocket?.common.alpnProtocols, ['istio-peer-exchange', 'istio']);
  t.same(tls.transportSocket?.common.validation?.sanMatchers, [{ type: 'URI', matcher: { kind: 'exact', value: 'spiffe://cluster.local/ns/ns/sa/server', ignoreCase: false } }]);
  const auto = `transport_socket_matches:
    - name: tlsMode-istio
      match: { tlsMode: istio }
      transport_socket:${UPSTREAM_TLS.replace(/\n {8}/g, '\n          ')}
    - name: tlsMode-disabled
      match: {}
      transport_socket: { name: envoy.transport_sockets.raw_buffer, typed_config: { "@type": type.googleapis.com/envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer } }`;
  const r = compile(bootstrap(`\n    - filters:${HCM}`, '', auto, ', metadata: { filter_metadata: { envoy.transport_socket_match: { tlsMode: istio } } }'));
  if (!r.ok) return t.fail(r.errors.join('\n'));
  const c = r.value.clusters.get('c')!;
  t.same(c.endpoints[0].socketMatch, { tlsMode: 'istio' });
  t.equal(upstreamTlsFor(c.tls, c.endpoints[0].socketMatch)?.sni, 'outbound_.8080_._.svc.ns.svc.cluster.local', 'labelled endpoint: mTLS');
  t.equal(upstreamTlsFor(c.tls, undefined), undefined, 'unlabelled endpoint: the empty match, raw_buffer');
  t.equal(upstreamTlsFor(c.tls, { tlsMode: 'disabled' }), undefined);
});
