/**
 * For every Istio injection input that has Istio's `.injected` output, our injection gives
 * the same structure (see helpers/pod-structure.ts), with our image and program in place.
 *
 * Known, deliberate differences, checked separately below:
 * - app lifecycle hooks are not rewritten to :15020/app-lifecycle (app probes are, to
 *   :15020/app-health, as Istio does: compared in full, with the originals Istio keeps in
 *   ISTIO_KUBE_APP_PROBERS);
 * - Istio's kube-inject puts a CronJob's labels and annotations on `jobTemplate.metadata`
 *   (so the pods never get them); we put them on the pod template, where the webhook would;
 * - status_params and traffic-params are run by Istio's test with injection parameters that
 *   are not in the input (probe timings, no status port, CIDR values): only the sidecar
 *   probes differ, and the iptables flags are compared by name;
 * - `sidecar.istio.io/nativeSidecar: "false"` gives our app-waits-for-proxy fallback (proxy
 *   first, postStart hook) where Istio puts the proxy last without a hook.
 */
import t from 'tap';
import { kubeInject } from '../src/kube-inject/kube-inject.js';
import { findPodTemplates } from '../src/kube-inject/pod-templates.js';
import { istioInjectCases, ISTIO_INJECT_DIR, istioInjectSkip, readIstio, yamlDocs } from './helpers/istio-testdata.js';
import { podStructure, type PodStructure } from './helpers/pod-structure.js';
import type { PodSpec } from '../src/kube-types.js';

// Outside CI, a clone without Istio's inputs beside it skips (saying where it looked); CI fails.
const skip = istioInjectSkip(t);
if (skip) t.test("Istio's injection cases", { skip }, () => undefined);
const cases = skip ? [] : istioInjectCases();
if (!skip && cases.length === 0) t.fail(`no Istio input with its .injected output in ${ISTIO_INJECT_DIR}`);

/** Moves istio-proxy of the fallback mode to where Istio's non-native output has it (last). */
function asIstioOptOut(s: PodStructure): PodStructure {
  const proxy = s.containers.filter((c) => c.name === 'istio-proxy');
  return { ...s, containers: [...s.containers.filter((c) => c.name !== 'istio-proxy'), ...proxy] };
}

/** Cases whose Istio output depends on parameters of Istio's test, not on the input. */
const PARAMETERISED = new Set(['status_params.yaml', 'traffic-params.yaml']);

/** Istio's CronJob output keeps the pod metadata on jobTemplate.metadata: read it from there. */
function istioTemplates(doc: unknown): ReturnType<typeof findPodTemplates> {
  const d = doc as { kind?: string; spec?: { jobTemplate?: { metadata?: object } } };
  return findPodTemplates(doc).map((ref) =>
    d.kind === 'CronJob' && d.spec?.jobTemplate?.metadata ? { ...ref, holder: { ...ref.holder, metadata: { ...ref.holder.metadata, ...d.spec.jobTemplate.metadata } } } : ref,
  );
}

/** The proxy's ISTIO_KUBE_APP_PROBERS, parsed; app-lifecycle entries left out (we do not rewrite hooks). */
function probersEnv(spec: PodSpec | undefined): unknown {
  const proxy = [...(spec?.initContainers ?? []), ...(spec?.containers ?? [])].find((c) => c.name === 'istio-proxy');
  const v = proxy?.env?.find((e) => e.name === 'ISTIO_KUBE_APP_PROBERS')?.value;
  if (v === undefined) return undefined;
  return Object.fromEntries(Object.entries(JSON.parse(v) as Record<string, unknown>).filter(([k]) => k.startsWith('/app-health/')));
}

function withoutProxyProbes(s: PodStructure): PodStructure {
  const strip = (c: Record<string, unknown>): Record<string, unknown> => (c.name === 'istio-proxy' ? { ...c, readinessProbe: undefined, startupProbe: undefined } : c);
  return { ...s, initContainers: s.initContainers.map(strip), containers: s.containers.map(strip) };
}

for (const name of cases) {
  t.test(name, async (t) => {
    const ours = yamlDocs(kubeInject(readIstio(name)).yaml).flatMap(findPodTemplates);
    const istio = yamlDocs(readIstio(`${name}.injected`)).flatMap(istioTemplates);
    t.equal(ours.length, istio.length, 'same number of pod templates');
    istio.forEach((ref, i) => {
      let want = podStructure(ref.holder);
      let got = podStructure(ours[i].holder);
      if (PARAMETERISED.has(name)) {
        want = withoutProxyProbes(want);
        got = withoutProxyProbes(got);
      }
      const istioInjected = want.statusContainers !== undefined;
      t.equal(got.statusContainers !== undefined, istioInjected, istioInjected ? 'injected, as Istio does' : 'skipped, as Istio does');
      if (!istioInjected) {
        t.same(got, want, 'left unchanged');
        return;
      }
      if (name.startsWith('native-sidecar-opt-out')) {
        t.equal(got.containers[0].name, 'istio-proxy', 'fallback: the proxy starts first');
        got = asIstioOptOut(got);
        // Istio's opt-out has no hook and no startup gate; ours waits in postStart.
        t.ok(ours[i].holder.spec?.containers[0].lifecycle, 'fallback: postStart hook');
      }
      t.same(got.initContainers.map((c) => c.name), want.initContainers.map((c) => c.name), 'init containers and their order');
      t.same(got.containers.map((c) => c.name), want.containers.map((c) => c.name), 'containers and their order');
      t.same(got.initContainers, want.initContainers, 'init containers: ports, security contexts, probes');
      t.same(got.containers, want.containers, 'containers: ports, security contexts, probes (app probes rewritten to :15020)');
      t.same(probersEnv(ours[i].holder.spec), probersEnv(ref.holder.spec), 'ISTIO_KUBE_APP_PROBERS: the original probes, as Istio keeps them');
      t.same(got.annotationKeys, want.annotationKeys, 'annotation keys');
      t.same(got.labelKeys, want.labelKeys, 'label keys');
      if (!name.startsWith('native-sidecar-opt-out')) t.same(got.statusContainers, want.statusContainers, 'status annotation lists the same containers');
    });
  });
}
