/** PeerAuthentication precedence as Istio composes it (facts §3). */
import t from 'tap';
import { effectiveMtlsMode, peerAuthenticationProblems, type PeerAuthenticationPolicy } from '../src/security/peer-authentication.js';

const pa = (namespace: string, name: string, spec: PeerAuthenticationPolicy['spec'], creationTimestamp?: string): PeerAuthenticationPolicy => ({ namespace, name, spec, ...(creationTimestamp ? { creationTimestamp } : {}) });
const foo = { namespace: 'foo', labels: { app: 'httpbin', version: 'v1' } };

t.test('no policy at all: PERMISSIVE', async (t) => {
  t.equal(effectiveMtlsMode([], foo, 8080), 'PERMISSIVE');
});

t.test('mesh, namespace, workload, port: the most specific set mode wins; UNSET falls through', async (t) => {
  const mesh = pa('istio-system', 'default', { mtls: { mode: 'STRICT' } });
  t.equal(effectiveMtlsMode([mesh], foo, 8080), 'STRICT', 'mesh-wide STRICT');
  const ns = pa('foo', 'default', { mtls: { mode: 'PERMISSIVE' } });
  t.equal(effectiveMtlsMode([mesh, ns], foo, 8080), 'PERMISSIVE', 'the namespace wins over the mesh');
  t.equal(effectiveMtlsMode([mesh, ns], { namespace: 'bar', labels: {} }, 8080), 'STRICT', 'another namespace keeps the mesh mode');
  const wl = pa('foo', 'httpbin', { selector: { matchLabels: { app: 'httpbin' } }, mtls: { mode: 'UNSET' }, portLevelMtls: { '8080': { mode: 'DISABLE' } } });
  t.equal(effectiveMtlsMode([mesh, ns, wl], foo, 8080), 'DISABLE', 'portLevelMtls on the workload port');
  t.equal(effectiveMtlsMode([mesh, ns, wl], foo, 9090), 'PERMISSIVE', 'another port: UNSET on the workload falls to the namespace');
  t.equal(effectiveMtlsMode([mesh, ns, wl], { namespace: 'foo', labels: { app: 'other' } }, 8080), 'PERMISSIVE', 'the selector does not match another workload');
});

t.test('a selector policy in the root namespace is ignored; the oldest of one scope wins', async (t) => {
  const rootSel = pa('istio-system', 'sel', { selector: { matchLabels: { app: 'httpbin' } }, mtls: { mode: 'STRICT' } });
  t.equal(effectiveMtlsMode([rootSel], foo, 8080), 'PERMISSIVE');
  const older = pa('foo', 'b-older', { mtls: { mode: 'STRICT' } }, '2026-01-01T00:00:00Z');
  const newer = pa('foo', 'a-newer', { mtls: { mode: 'DISABLE' } }, '2026-06-01T00:00:00Z');
  t.equal(effectiveMtlsMode([newer, older], foo, 8080), 'STRICT', 'the older namespace-wide policy wins');
  t.equal(effectiveMtlsMode([pa('foo', 'z', { mtls: { mode: 'DISABLE' } }), pa('foo', 'a', { mtls: { mode: 'STRICT' } })], foo, 1), 'STRICT', 'same (missing) time: by name');
  t.equal(effectiveMtlsMode([pa('mesh-root', 'default', { mtls: { mode: 'STRICT' } })], foo, 1, 'mesh-root'), 'STRICT', 'the root namespace follows mesh config');
});

t.test('validation', async (t) => {
  t.same(peerAuthenticationProblems(pa('foo', 'x', { mtls: { mode: 'strict' } })), [], 'modes are case-insensitive');
  t.same(peerAuthenticationProblems(pa('foo', 'x', { mtls: { mode: 'TIGHT' } })), ['spec.mtls.mode: unknown mode "TIGHT" (UNSET, DISABLE, PERMISSIVE, STRICT)']);
  t.same(peerAuthenticationProblems(pa('foo', 'x', { portLevelMtls: { '8080': { mode: 'STRICT' } } })), ['spec.portLevelMtls: portLevelMtls requires selector']);
  t.same(peerAuthenticationProblems(pa('foo', 'x', { selector: { matchLabels: { a: 'b' } }, portLevelMtls: { '0': { mode: 'STRICT' } } })), ['spec.portLevelMtls[0]: port must be between 1 and 65535']);
});
