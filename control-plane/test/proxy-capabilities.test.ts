/**
 * An Istio feature the proxy cannot run yet (outlier detection) is
 * left out of what is pushed, with a warning naming the resource, so the rest of the config
 * still reaches the proxy instead of being NACKed whole.
 */
import t from 'tap';
import path from 'node:path';
import { generateForProxy, proxyIdentity } from '../src/index.js';
import { adaptToProxy } from '../src/server/proxy-capabilities.js';
import { compileAll } from './helpers/compile.js';
import { BOOKINFO, bookinfoSkip, makeModel } from './helpers/fixtures.js';

const sidecar = 'sidecar~10.9.0.1~productpage-v1-1.default~default.svc.cluster.local';

t.test('fault injection (Bookinfo fault-injection-details-v1): pushed as translated, and it compiles', { skip: bookinfoSkip(t) }, async (t) => {
  const { model } = makeModel([path.join(BOOKINFO, 'platform/bookinfo.yaml'), path.join(BOOKINFO, 'networking/destination-rule-all.yaml'), path.join(BOOKINFO, 'networking/fault-injection-details-v1.yaml')]);
  const generated = generateForProxy(model, proxyIdentity(sidecar, { LABELS: { app: 'productpage', version: 'v1' } }, model));
  t.same(compileAll(generated).errors, [], 'the proxy takes the fault filter and the per-route fault');
  const { resources, notes } = adaptToProxy(generated);
  t.same(notes, [], 'nothing left out');
  const text = JSON.stringify(resources);
  t.match(text, /envoy\.filters\.http\.fault/, 'the fault filter and the per-route fault are pushed');
  t.match(text, /outbound\|9080\|v1\|details\.default\.svc\.cluster\.local/, 'the route to details v1 is there');
});

t.test('outlier detection: the cluster is pushed without it, and the warning names it', { skip: bookinfoSkip(t) }, async (t) => {
  const { model } = makeModel([path.join(BOOKINFO, 'platform/bookinfo.yaml')]);
  const generated = generateForProxy(model, proxyIdentity(sidecar, { LABELS: { app: 'productpage' } }, model));
  const victim = generated.clusters[0];
  const withOutlier = { ...generated, clusters: [{ ...victim, outlier_detection: { consecutive_5xx: 5 } }, ...generated.clusters.slice(1)] };
  const { resources, notes } = adaptToProxy(withOutlier);
  t.equal(resources.clusters[0].outlier_detection, undefined);
  t.match(notes[0], new RegExp(`cluster ${String(victim.name).replace(/[|.]/g, '\\$&')}\\) outlier detection`));
  t.same(adaptToProxy(generated).notes, [], 'nothing to say when nothing is unsupported');
});
