/** tls/mesh-alpn.ts: Istio's istio.alpn override for HTTP over the mesh's mTLS. */
import t from 'tap';
import { meshHttpAlpn } from '../src/tls/mesh-alpn.js';

t.test('a mesh context offers the HTTP ALPN of the upstream codec; others keep theirs', async (t) => {
  t.same(meshHttpAlpn(['istio-peer-exchange', 'istio'], 'HTTP1'), ['istio-http/1.1', 'istio', 'http/1.1']);
  t.same(meshHttpAlpn(['istio-peer-exchange', 'istio', 'h2'], 'HTTP2'), ['istio-h2', 'istio', 'h2']);
  t.same(meshHttpAlpn(['h2', 'http/1.1'], 'HTTP2'), ['h2', 'http/1.1'], 'SIMPLE/MUTUAL to a server outside the mesh: unchanged');
  t.same(meshHttpAlpn([], 'HTTP1'), [], 'no ALPN: none');
});
