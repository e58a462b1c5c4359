/**
 * The pod's `proxy.istio.io/config` annotation (a ProxyConfig in YAML, over the mesh's
 * defaultConfig), for what the injector renders from it: `concurrency`, the proxy's worker
 * count. Other fields are the proxy's own business and are left alone here.
 */
import { parse } from 'yaml';
import { ANNOTATIONS } from './injection-keys.js';
import { InvalidPodAnnotationError } from './init-container.js';
import type { Pod } from './kube-types.js';

/** The annotation's `concurrency` (0: one worker per core); undefined when it does not say. Throws InvalidPodAnnotationError on a bad value. */
export function annotatedConcurrency(pod: Pod): number | undefined {
  const text = pod.metadata?.annotations?.[ANNOTATIONS.proxyConfig];
  if (text === undefined || text.trim() === '') return undefined;
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (e) {
    throw new InvalidPodAnnotationError(`annotation ${ANNOTATIONS.proxyConfig}: not YAML: ${(e as Error).message.split('\n')[0]}`);
  }
  if (doc === null || doc === undefined) return undefined;
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new InvalidPodAnnotationError(`annotation ${ANNOTATIONS.proxyConfig}: expected a ProxyConfig mapping`);
  const v = (doc as Record<string, unknown>).concurrency;
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 128) throw new InvalidPodAnnotationError(`annotation ${ANNOTATIONS.proxyConfig}: concurrency: expected a number of workers from 0 (one per core) to 128, got ${JSON.stringify(v)}`);
  return v;
}
