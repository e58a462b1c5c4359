/**
 * `istio.metadata_exchange` as a network filter before tcp_proxy (Istio's TCP metadata
 * exchange): its TypedStruct config compiles to the chain's `peerExchange`; a wrong type or a
 * missing protocol is named with its path.
 */
import t from 'tap';
import { parseBootstrap } from '@minimesh/api';
import { compileBootstrap, type RuntimeConfig } from '../src/index.js';
import { fmt } from './helpers.js';

const mx = (value: string, typeUrl = 'type.googleapis.com/envoy.tcp.metadataexchange.config.MetadataExchange') => `
      - name: istio.metadata_exchange
        typed_config: { "@type": type.googleapis.com/udpa.type.v1.TypedStruct, type_url: ${typeUrl}, value: ${value} }`;
const TCP = `
      - name: envoy.filters.network.tcp_proxy
        typed_config: { "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy, stat_prefix: t, cluster: c }`;

function compile(filters: string): { ok: true; value: RuntimeConfig } | { ok: false; errors: string[] } {
  const text = `
static_resources:
  listeners:
  - name: l
    address: { socket_address: { address: 0.0.0.0, port_value: 15006 } }
    filter_chains:
    - filters:${filters}
  clusters:
  - name: c
    load_assignment: { endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: 2 } } } }] }] }
`;
  const p = parseBootstrap(text, 'b.yaml');
  if (!p.ok) return { ok: false, errors: p.errors.map(fmt) };
  const c = compileBootstrap(p.value);
  return c.ok ? { ok: true, value: c.value } : { ok: false, errors: c.errors.map(fmt) };
}

t.test("Istio's config compiles to the exchange's ALPN", async (t) => {
  const r = compile(mx('{ protocol: istio-peer-exchange, enable_discovery: true }') + TCP);
  t.ok(r.ok, r.ok ? '' : r.errors.join('\n'));
  if (r.ok) t.same(r.value.listeners[0].tcpProxy?.peerExchange, { protocol: 'istio-peer-exchange' });
  const none = compile(TCP);
  t.ok(none.ok);
  if (none.ok) t.equal(none.value.listeners[0].tcpProxy?.peerExchange, undefined, 'no filter: no exchange');
});

t.test('bad configs are named', async (t) => {
  const noProtocol = compile(mx('{ enable_discovery: true }') + TCP);
  t.notOk(noProtocol.ok);
  if (!noProtocol.ok) t.match(noProtocol.errors.join('\n'), /filters\[0\]\.typed_config\.value\.protocol: must name the ALPN/);
  const wrongType = compile(mx('{ protocol: x }', 'type.googleapis.com/io.istio.http.peer_metadata.Config') + TCP);
  t.notOk(wrongType.ok);
  if (!wrongType.ok) t.match(wrongType.errors.join('\n'), /type_url: expected type\.googleapis\.com\/envoy\.tcp\.metadataexchange\.config\.MetadataExchange/);
  const extra = compile(mx('{ protocol: istio-peer-exchange, shiny: 1 }') + TCP);
  t.notOk(extra.ok);
  if (!extra.ok) t.match(extra.errors.join('\n'), /value\.shiny: field not supported by minimesh/);
});
