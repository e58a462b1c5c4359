/**
 * One AdmissionReview (admission.k8s.io/v1) in, one out: the pod with the sidecar, as a
 * base64 JSONPatch diffed with fast-json-patch. Malformed input gets a 400 and a message
 * naming what is wrong; nothing here throws.
 */
import fastJsonPatch from 'fast-json-patch';
import { injectPod } from '../inject-pod.js';
import { InvalidPodAnnotationError } from '../init-container.js';
import type { InjectOptions } from '../inject-options.js';
import type { NamespaceInfo, Pod, StringMap } from '../kube-types.js';

const { compare } = fastJsonPatch;

export interface AdmissionResult {
  readonly status: number;
  readonly body: unknown;
  /** For the log: what happened to the pod. */
  readonly note: string;
}

/** Looks a namespace's labels up (e.g. in the Kubernetes API); undefined = not known. */
export type NamespaceLabels = (name: string) => Promise<StringMap | undefined> | StringMap | undefined;

export class AdmissionError extends Error {}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

interface ParsedRequest {
  readonly uid: string;
  readonly namespace: string;
  readonly pod: Pod;
  readonly dryRun: boolean;
}

/** Validates the review's shape; throws AdmissionError saying what is wrong. */
export function parseAdmissionReview(body: unknown): ParsedRequest {
  if (!isObject(body)) throw new AdmissionError('body must be a JSON object (an AdmissionReview)');
  if (body.kind !== 'AdmissionReview') throw new AdmissionError(`kind must be "AdmissionReview" (got ${JSON.stringify(body.kind)})`);
  if (body.apiVersion !== 'admission.k8s.io/v1') throw new AdmissionError(`apiVersion must be "admission.k8s.io/v1" (got ${JSON.stringify(body.apiVersion)})`);
  const req = body.request;
  if (!isObject(req)) throw new AdmissionError('request is missing');
  if (typeof req.uid !== 'string' || req.uid === '') throw new AdmissionError('request.uid must be a non-empty string');
  const kind = req.kind;
  if (isObject(kind) && (kind.kind !== 'Pod' || (kind.group ?? '') !== '')) throw new AdmissionError(`request.kind must be core/v1 Pod (got ${JSON.stringify(kind)})`);
  const pod = req.object;
  if (!isObject(pod)) throw new AdmissionError('request.object must be the Pod');
  const spec = pod.spec;
  if (!isObject(spec)) throw new AdmissionError('request.object.spec must be an object');
  if (!Array.isArray(spec.containers) || spec.containers.some((c) => !isObject(c) || typeof c.name !== 'string')) {
    throw new AdmissionError('request.object.spec.containers must be a list of containers with names');
  }
  if (spec.initContainers !== undefined && (!Array.isArray(spec.initContainers) || spec.initContainers.some((c) => !isObject(c)))) {
    throw new AdmissionError('request.object.spec.initContainers must be a list of containers');
  }
  if (pod.metadata !== undefined && !isObject(pod.metadata)) throw new AdmissionError('request.object.metadata must be an object');
  const meta = (pod.metadata ?? {}) as Record<string, unknown>;
  for (const k of ['labels', 'annotations'] as const) {
    const m = meta[k];
    if (m !== undefined && (!isObject(m) || Object.values(m).some((v) => typeof v !== 'string'))) throw new AdmissionError(`request.object.metadata.${k} must map strings to strings`);
  }
  // The API server sets the namespace on the request; a generated pod has none of its own yet.
  const namespace = typeof req.namespace === 'string' && req.namespace ? req.namespace : typeof meta.namespace === 'string' && meta.namespace ? meta.namespace : 'default';
  return { uid: req.uid, namespace, pod: pod as Pod, dryRun: req.dryRun === true };
}

function review(response: Record<string, unknown>): unknown {
  return { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response };
}

export async function handleAdmissionReview(body: unknown, options: Partial<InjectOptions> = {}, namespaceLabels?: NamespaceLabels): Promise<AdmissionResult> {
  let req: ParsedRequest;
  try {
    req = parseAdmissionReview(body);
  } catch (e) {
    if (e instanceof AdmissionError) return { status: 400, body: { error: e.message }, note: `bad review: ${e.message}` };
    throw e;
  }
  const name = req.pod.metadata?.name ?? `${req.pod.metadata?.generateName ?? ''}*`;
  try {
    const ns: NamespaceInfo = { name: req.namespace, labels: namespaceLabels ? await namespaceLabels(req.namespace) : undefined };
    const r = injectPod(req.pod, ns, options);
    if (!r.injected) return { status: 200, body: review({ uid: req.uid, allowed: true }), note: `${req.namespace}/${name}: skipped (${r.skip.reason})` };
    const patch = compare(req.pod, r.pod);
    return {
      status: 200,
      body: review({ uid: req.uid, allowed: true, patchType: 'JSONPatch', patch: Buffer.from(JSON.stringify(patch)).toString('base64') }),
      note: `${req.namespace}/${name}: injected (${patch.length} patch operations)`,
    };
  } catch (e) {
    if (e instanceof InvalidPodAnnotationError) {
      // The pod asks for capture rules the init program would refuse: rejected, as Istio does.
      return { status: 200, body: review({ uid: req.uid, allowed: false, status: { code: 400, message: `minimesh injector: ${e.message}` } }), note: `${req.namespace}/${name}: rejected: ${e.message}` };
    }
    // Never fail pod creation because of us: allow it, unmodified, and say why.
    return { status: 200, body: review({ uid: req.uid, allowed: true, warnings: [`minimesh injector: not injected: ${(e as Error).message}`] }), note: `${req.namespace}/${name}: error ${(e as Error).message}` };
  }
}
