/** Cluster TLS as Istio's cluster builder writes it (facts §2, §3). */
import t from 'tap';
import { clientTlsProblems, clusterTlsFields, istioSni } from '../src/generate/build-upstream-tls.js';

const reviews = { port: 9080, host: 'reviews.default.svc.cluster.local', serviceIdentities: ['spiffe://cluster.local/ns/default/sa/bookinfo-reviews'], http2: false };

t.test("Istio's SNI", async (t) => {
  t.equal(istioSni(9080, 'v1', 'reviews.default.svc.cluster.local'), 'outbound_.9080_.v1_.reviews.default.svc.cluster.local');
  t.equal(istioSni(9080, undefined, 'reviews.default.svc.cluster.local'), 'outbound_.9080_._.reviews.default.svc.cluster.local');
});

t.test('auto mTLS: tlsMode-istio endpoints get ISTIO_MUTUAL, others plain text', async (t) => {
  const f = clusterTlsFields(reviews, undefined, true) as { transport_socket_matches: { name: string; match: unknown; transport_socket: { typed_config: Record<string, any> } }[] };
  t.same(f.transport_socket_matches.map((m) => [m.name, m.match]), [['tlsMode-istio', { tlsMode: 'istio' }], ['tlsMode-disabled', {}]]);
  const ctx = f.transport_socket_matches[0].transport_socket.typed_config;
  t.equal(ctx.sni, 'outbound_.9080_._.reviews.default.svc.cluster.local');
  t.same(ctx.common_tls_context.alpn_protocols, ['istio-peer-exchange', 'istio']);
  t.same(ctx.common_tls_context.tls_certificate_sds_secret_configs[0].name, 'default');
  t.same(ctx.common_tls_context.combined_validation_context.validation_context_sds_secret_config.name, 'ROOTCA');
  t.same(ctx.common_tls_context.combined_validation_context.default_validation_context.match_typed_subject_alt_names, [{ san_type: 'URI', matcher: { exact: 'spiffe://cluster.local/ns/default/sa/bookinfo-reviews' } }]);
  t.same(clusterTlsFields(reviews, undefined, false), {}, 'auto mTLS off: plain text');
  t.same(clusterTlsFields(reviews, { mode: 'DISABLE' }, true), {}, 'DISABLE: plain text');
});

t.test('explicit modes', async (t) => {
  const im = clusterTlsFields({ ...reviews, subset: 'v2', http2: true }, { mode: 'ISTIO_MUTUAL', sni: 'custom.sni', subjectAltNames: ['spiffe://cluster.local/ns/x/sa/y'] }, true) as { transport_socket: { typed_config: Record<string, any> } };
  const ctx = im.transport_socket.typed_config;
  t.equal(ctx.sni, 'custom.sni', 'the DR sni wins');
  t.same(ctx.common_tls_context.alpn_protocols, ['istio-peer-exchange', 'istio', 'h2'], 'h2 added for an HTTP/2 cluster');
  t.same(ctx.common_tls_context.combined_validation_context.default_validation_context.match_typed_subject_alt_names[0].matcher.exact, 'spiffe://cluster.local/ns/x/sa/y');
  const simple = clusterTlsFields(reviews, { mode: 'SIMPLE', caCertificates: '/etc/certs/ca.pem', sni: 'api.example.com' }, true) as { transport_socket: { typed_config: Record<string, any> } };
  t.same(simple.transport_socket.typed_config.common_tls_context.validation_context, { trusted_ca: { filename: '/etc/certs/ca.pem' } });
  t.equal(simple.transport_socket.typed_config.sni, 'api.example.com');
  const mutual = clusterTlsFields(reviews, { mode: 'MUTUAL', credentialName: 'client-credential' }, true) as { transport_socket: { typed_config: Record<string, any> } };
  t.same(mutual.transport_socket.typed_config.common_tls_context.tls_certificate_sds_secret_configs[0].name, 'client-credential');
  t.same(mutual.transport_socket.typed_config.common_tls_context.combined_validation_context.validation_context_sds_secret_config.name, 'client-credential-cacert');
  const skip = clusterTlsFields(reviews, { mode: 'SIMPLE', insecureSkipVerify: true }, true) as { transport_socket: { typed_config: Record<string, any> } };
  t.notOk(skip.transport_socket.typed_config.common_tls_context.validation_context, 'insecureSkipVerify: no validation context');
});

t.test('validation of ClientTLSSettings', async (t) => {
  t.same(clientTlsProblems({ mode: 'ISTIO_MUTUAL' }), []);
  t.same(clientTlsProblems({ mode: 'MUTUAL' }), ['MUTUAL needs clientCertificate and privateKey, or credentialName']);
  t.same(clientTlsProblems({ mode: 'TLS' }), ['mode: unknown mode "TLS" (DISABLE, SIMPLE, MUTUAL, ISTIO_MUTUAL)']);
  t.same(clientTlsProblems({ mode: 'ISTIO_MUTUAL', caCertificates: '/x' }), ['ISTIO_MUTUAL uses the mesh certificates: clientCertificate, privateKey, caCertificates and credentialName must be empty']);
});
