/**
 * IST0108 UnknownAnnotation: an annotation in the mesh's domains (`sidecar.istio.io/...`,
 * `proxy.istio.io/...`, any `*.istio.io/...`) that the mesh does not define, usually a typo
 * (`sidecar.istio.io/injectt`) that silently does nothing. Namespaces, Services, Pods and
 * Deployments are checked, as Istio's analyzer does (other kinds are not).
 */
import { unknownAnnotation, type AnalysisMessage } from './analysis-message.js';
import type { AnalysisContext } from './analysis-context.js';
import { isMeshAnnotation, KNOWN_ANNOTATIONS } from './known-annotations.js';

const CHECKED_KINDS = ['Namespace', 'Service', 'Pod', 'Deployment'];

export function analyzeAnnotations(ctx: AnalysisContext): AnalysisMessage[] {
  const out: AnalysisMessage[] = [];
  for (const kind of CHECKED_KINDS) {
    for (const r of ctx.of(kind)) {
      for (const name of Object.keys(r.annotations).sort()) {
        if (isMeshAnnotation(name) && !KNOWN_ANNOTATIONS.has(name)) out.push(unknownAnnotation(r.origin, name));
      }
    }
  }
  return out;
}
