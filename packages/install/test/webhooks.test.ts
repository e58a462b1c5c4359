/** The injector and validator webhooks (facts §2.3, §2.4) and the default tag's (§2.5). */
import t from 'tap';
import { deactivateInjectorWebhooks, deactivatedInjectorPatch, NEVER_MATCH, profileValues, renderDefaultRevisionTag, renderManifest, type KubeObject } from '../src/index.js';
import { find } from './helpers/render-all.js';

const pilot = renderManifest(profileValues('demo'))[1].objects;
const mwc = find(pilot, 'MutatingWebhookConfiguration', 'istio-sidecar-injector');
const NAMES = ['rev.namespace.sidecar-injector.istio.io', 'rev.object.sidecar-injector.istio.io', 'namespace.sidecar-injector.istio.io', 'object.sidecar-injector.istio.io'];

type Sel = { matchLabels?: Record<string, string>; matchExpressions?: { key: string; operator: string; values?: string[] }[] };
/** Kubernetes' label selector semantics. */
function matches(sel: Sel, labels: Record<string, string>): boolean {
  const okLabels = Object.entries(sel.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
  return okLabels && (sel.matchExpressions ?? []).every((e) => {
    const has = e.key in labels;
    switch (e.operator) {
      case 'In': return has && e.values!.includes(labels[e.key]);
      case 'NotIn': return !has || !e.values!.includes(labels[e.key]);
      case 'Exists': return has;
      case 'DoesNotExist': return !has;
      default: throw new Error(e.operator);
    }
  });
}
const firing = (config: KubeObject & Record<string, any>, ns: Record<string, string>, pod: Record<string, string>): string[] =>
  config.webhooks.filter((w: any) => matches(w.namespaceSelector, ns) && matches(w.objectSelector, pod)).map((w: any) => w.name);

t.test('istio-sidecar-injector: four webhooks to istiod /inject, Istio\'s settings, no caBundle', async (t) => {
  t.same(mwc.metadata.labels.app, 'sidecar-injector');
  t.same(mwc.metadata.labels['istio.io/rev'], 'default');
  t.same(mwc.webhooks.map((w: any) => w.name), NAMES);
  for (const w of mwc.webhooks) {
    t.same(w.clientConfig, { service: { name: 'istiod', namespace: 'istio-system', path: '/inject', port: 443 } }, `${w.name} client`);
    t.same(w.rules, [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'] }]);
    t.same([w.failurePolicy, w.sideEffects, w.admissionReviewVersions, w.reinvocationPolicy], ['Fail', 'None', ['v1'], 'Never']);
  }
  const sel = (name: string) => mwc.webhooks.find((w: any) => w.name === name);
  t.same(sel(NAMES[0]).namespaceSelector.matchExpressions, [{ key: 'istio.io/rev', operator: 'In', values: ['default'] }, { key: 'istio-injection', operator: 'DoesNotExist' }]);
  t.same(sel(NAMES[0]).objectSelector.matchExpressions, [{ key: 'sidecar.istio.io/inject', operator: 'NotIn', values: ['false'] }]);
  t.same(sel(NAMES[1]).namespaceSelector.matchExpressions, [{ key: 'istio.io/rev', operator: 'DoesNotExist' }, { key: 'istio-injection', operator: 'DoesNotExist' }]);
  t.same(sel(NAMES[1]).objectSelector.matchExpressions, [{ key: 'sidecar.istio.io/inject', operator: 'NotIn', values: ['false'] }, { key: 'istio.io/rev', operator: 'In', values: ['default'] }]);
  t.same(sel(NAMES[2]).namespaceSelector.matchExpressions, [{ key: 'istio-injection', operator: 'In', values: ['enabled'] }]);
  t.same(sel(NAMES[2]).objectSelector.matchExpressions, [{ key: 'sidecar.istio.io/inject', operator: 'NotIn', values: ['false'] }]);
  t.same(sel(NAMES[3]).namespaceSelector.matchExpressions, [{ key: 'istio-injection', operator: 'DoesNotExist' }, { key: 'istio.io/rev', operator: 'DoesNotExist' }]);
  t.same(sel(NAMES[3]).objectSelector.matchExpressions, [{ key: 'sidecar.istio.io/inject', operator: 'In', values: ['true'] }, { key: 'istio.io/rev', operator: 'DoesNotExist' }]);
});

t.test('exactly the webhook meant fires, never two', async (t) => {
  t.same(firing(mwc, { 'istio-injection': 'enabled' }, { app: 'web' }), [NAMES[2]], 'istio-injection=enabled namespace');
  t.same(firing(mwc, { 'istio-injection': 'enabled' }, { 'sidecar.istio.io/inject': 'false' }), [], 'opted-out pod');
  t.same(firing(mwc, { 'istio-injection': 'disabled' }, { 'sidecar.istio.io/inject': 'true' }), [], 'disabled namespace wins');
  t.same(firing(mwc, { 'istio.io/rev': 'default' }, {}), [NAMES[0]], 'istio.io/rev namespace');
  t.same(firing(mwc, {}, { 'istio.io/rev': 'default' }), [NAMES[1]], 'istio.io/rev pod');
  t.same(firing(mwc, {}, { 'sidecar.istio.io/inject': 'true' }), [NAMES[3]], 'opted-in pod');
  t.same(firing(mwc, {}, {}), [], 'plain namespace, plain pod');
  t.same(firing(mwc, { 'istio-injection': 'enabled', 'istio.io/rev': 'default' }, {}), [NAMES[2]], 'both namespace labels: one webhook');
});

t.test('istio-validator-istio-system: Istio\'s groups to /validate, Ignore until proven, default revision only', async (t) => {
  const vwc = find(pilot, 'ValidatingWebhookConfiguration', 'istio-validator-istio-system');
  t.match(vwc.metadata.labels, { app: 'istiod', istio: 'istiod', 'istio.io/rev': 'default' });
  t.equal(vwc.webhooks.length, 1);
  const [w] = vwc.webhooks;
  t.equal(w.name, 'rev.validation.istio.io');
  t.same(w.clientConfig, { service: { name: 'istiod', namespace: 'istio-system', path: '/validate' } });
  t.same(w.rules, [{ operations: ['CREATE', 'UPDATE'], apiGroups: ['security.istio.io', 'networking.istio.io', 'telemetry.istio.io', 'extensions.istio.io'], apiVersions: ['*'], resources: ['*'] }]);
  t.same([w.failurePolicy, w.sideEffects, w.admissionReviewVersions], ['Ignore', 'None', ['v1']]);
  t.same(w.objectSelector, { matchExpressions: [{ key: 'istio.io/rev', operator: 'In', values: ['default'] }] });
});

t.test('the default tag: istio-revision-tag-default and istiod-default-validator', async (t) => {
  const [tag, validator] = renderDefaultRevisionTag(profileValues('demo')) as (KubeObject & Record<string, any>)[];
  t.equal(tag.kind, 'MutatingWebhookConfiguration');
  t.equal(tag.metadata.name, 'istio-revision-tag-default');
  t.match(tag.metadata.labels, { 'istio.io/tag': 'default', 'istio.io/rev': 'default', app: 'sidecar-injector', 'install.operator.istio.io/owning-resource-not-pruned': 'true', 'operator.istio.io/component': 'Pilot' });
  t.same(tag.webhooks, mwc.webhooks, 'the same webhooks and selectors as the revision\'s (tag = revision = default)');
  t.notOk(JSON.stringify(tag).includes('caBundle'), 'no caBundle unless given');
  const withCa = renderDefaultRevisionTag(profileValues('demo'), 'Q0E=')[0] as any;
  t.ok(withCa.webhooks.every((w: any) => w.clientConfig.caBundle === 'Q0E=' && w.clientConfig.service.path === '/inject'), 'caBundle copied onto every webhook');
  t.equal(validator.kind, 'ValidatingWebhookConfiguration');
  t.equal(validator.metadata.name, 'istiod-default-validator');
  t.match(validator.metadata.labels, { 'istio.io/rev': 'default', 'istio.io/tag': 'default', 'operator.istio.io/component': 'Pilot' });
  const [w] = validator.webhooks;
  t.equal(w.name, 'validation.istio.io');
  t.same(w.clientConfig, { service: { name: 'istiod', namespace: 'istio-system', path: '/validate' } });
  t.equal(w.failurePolicy, 'Ignore');
  t.same(w.objectSelector, { matchExpressions: [{ key: 'istio.io/rev', operator: 'DoesNotExist' }] });
});

t.test('the deactivated injector never fires; the live object keeps its caBundle', async (t) => {
  const off = deactivatedInjectorPatch() as any;
  t.equal(off.metadata.name, 'istio-sidecar-injector');
  t.equal(off.metadata.labels['operator.istio.io/component'], 'Pilot');
  t.same(off.webhooks.map((w: any) => w.name), NAMES);
  for (const w of off.webhooks) t.same([w.namespaceSelector, w.objectSelector], [NEVER_MATCH, NEVER_MATCH]);
  t.same(NEVER_MATCH, { matchLabels: { 'istio.io/deactivated': 'never-match' } });
  for (const [ns, pod] of [[{ 'istio-injection': 'enabled' }, {}], [{ 'istio.io/rev': 'default' }, {}], [{}, { 'sidecar.istio.io/inject': 'true' }]] as const) {
    t.same(firing(off, ns, pod), [], JSON.stringify([ns, pod]));
  }
  const live = structuredClone(mwc);
  live.webhooks.forEach((w: any) => (w.clientConfig.caBundle = 'Uk9PVA=='));
  const patched = deactivateInjectorWebhooks(live) as any;
  t.ok(patched.webhooks.every((w: any) => w.clientConfig.caBundle === 'Uk9PVA==' && w.namespaceSelector.matchLabels['istio.io/deactivated'] === 'never-match'));
  t.not(live.webhooks[0].namespaceSelector.matchLabels, NEVER_MATCH.matchLabels, 'the input is not changed');
});
