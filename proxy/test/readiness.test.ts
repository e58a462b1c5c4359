/**
 * A proxy is LIVE (/ready 200, /healthz/ready 200) once its first config is applied and it holds
 * the secrets it must have: a sidecar that asked the CA for its workload certificate is not ready
 * before `default` and `ROOTCA` arrive, as Envoy's clusters warm until their SDS secrets do.
 */
import t from 'tap';
import { parseBootstrap } from '@minimesh/api';
import { compileBootstrap } from '@minimesh/config';
import { buildBootstrap, route } from './helpers/harness.js';
import { Proxy } from '../src/proxy.js';
import { ROOT_SECRET, WORKLOAD_SECRET } from '../src/security/secret-store.js';
import { serverState } from '../src/admin/admin-server.js';

t.test('ready: a config applied, and the required secrets held', async (t) => {
  const parsed = parseBootstrap(JSON.stringify(buildBootstrap({ routes: [route('/', 'c')], clusters: { c: [1] } }, undefined)), 'b.yaml');
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  const compiled = compileBootstrap(parsed.value);
  if (!compiled.ok) throw new Error(JSON.stringify(compiled.errors));
  const proxy = new Proxy({ drainTimeMs: 0 });
  t.teardown(() => proxy.drain());
  proxy.requiredSecrets = [WORKLOAD_SECRET, ROOT_SECRET];
  t.equal(serverState(proxy), 'PRE_INITIALIZING', 'nothing yet');
  await proxy.apply(compiled.value, {});
  t.equal(proxy.ready, false, 'a config, but no workload certificate yet: not ready');
  const secret = { certificateChain: 'CHAIN', privateKey: 'KEY', lastUpdated: new Date() };
  proxy.secrets.set(WORKLOAD_SECRET, secret);
  t.equal(proxy.ready, false, 'the root is missing still');
  proxy.secrets.set(ROOT_SECRET, { trustedCa: 'ROOT', lastUpdated: new Date() });
  t.equal(serverState(proxy), 'LIVE', 'config and both secrets: LIVE');
  const plain = new Proxy({ drainTimeMs: 0 });
  t.teardown(() => plain.drain());
  await plain.apply(compiled.value, {});
  t.equal(plain.ready, true, 'a proxy that asked for no certificate is ready with its config');
});
