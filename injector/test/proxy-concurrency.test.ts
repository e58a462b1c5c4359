/**
 * The sidecar's `--concurrency`: 2 workers as Istio's sidecars run, the injector's
 * `--proxy-concurrency` (the mesh's defaultConfig.concurrency) instead, and a pod's
 * `proxy.istio.io/config` annotation over both; a bad value rejects the pod, naming it.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { handleAdmissionReview } from '../src/webhook/admission-review.js';
import { injectPod } from '../src/inject-pod.js';
import { injectOptionsFromFlags } from '../src/inject-flags.js';
import type { Pod } from '../src/kube-types.js';
import { INJECTOR_ROOT } from './helpers/golden.js';

interface Review {
  request: { uid: string; object: Pod };
}

function load(): Review {
  return JSON.parse(readFileSync(join(INJECTOR_ROOT, 'test', 'fixtures', 'admission', 'deployment-pod.json'), 'utf8')) as Review;
}

function proxyArgs(pod: Pod, options = {}): string[] {
  const p = injectPod(pod, { name: 'default' }, options).pod;
  return p.spec!.initContainers!.find((c) => c.name === 'istio-proxy')!.args!;
}

function annotated(value: string): Pod {
  const pod = load().request.object;
  pod.metadata!.annotations = { ...(pod.metadata!.annotations ?? {}), 'proxy.istio.io/config': value };
  return pod;
}

t.test('2 workers by default; the mesh-wide flag; the pod annotation wins', async (t) => {
  t.same(proxyArgs(load().request.object).slice(-2), ['--concurrency', '2'], "Istio's default");
  t.same(proxyArgs(load().request.object, injectOptionsFromFlags({ 'proxy-concurrency': '1' })).slice(-2), ['--concurrency', '1'], '--proxy-concurrency 1');
  t.same(proxyArgs(annotated('concurrency: 4\nholdApplicationUntilProxyStarts: true\n')).slice(-2), ['--concurrency', '4'], 'the annotation');
  t.same(proxyArgs(annotated('{"concurrency": 0}'), { concurrency: 1 }).slice(-2), ['--concurrency', '0'], '0 (one per core), in JSON, over the flag');
  t.same(proxyArgs(annotated('holdApplicationUntilProxyStarts: true')).slice(-2), ['--concurrency', '2'], 'an annotation without concurrency: the default');
  t.throws(() => injectOptionsFromFlags({ 'proxy-concurrency': 'two' }), /--proxy-concurrency: a number of workers/);
  t.throws(() => injectOptionsFromFlags({ 'proxy-concurrency': '-1' }), /--proxy-concurrency/);
});

t.test('a bad concurrency in the annotation rejects the pod, naming the annotation', async (t) => {
  for (const [value, message] of [
    ['concurrency: two', /proxy\.istio\.io\/config: concurrency: expected a number of workers .* got "two"/],
    ['concurrency: 1.5', /concurrency: expected/],
    ['[1, 2]', /expected a ProxyConfig mapping/],
    ['concurrency: [', /not YAML/],
  ] as const) {
    const review = load();
    review.request.object = annotated(value);
    const res = ((await handleAdmissionReview(review)).body as { response: { allowed: boolean; status?: { code: number; message: string } } }).response;
    t.equal(res.allowed, false, `${JSON.stringify(value)}: rejected`);
    t.equal(res.status?.code, 400);
    t.match(res.status?.message ?? '', message);
  }
});
