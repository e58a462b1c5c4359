/**
 * The validating webhook (`POST /validate`): one AdmissionReview in, one out. Istio's kinds
 * are checked with the same validators the control plane reads them with; an invalid object
 * is denied with `configuration is invalid: <field>: <problem>` (the API server puts
 * `admission webhook "…" denied the request: ` in front). An object carrying the
 * always-reject annotation is always denied: the control plane's own check that the webhook
 * is reachable before it makes the webhook fail closed. Nothing here throws.
 */
import { ALWAYS_REJECT_ANNOTATION } from '@minimesh/mesh';
import { validateResource, type ResourceIssue } from '@minimesh/kube';

export interface ReviewResult {
  readonly status: number;
  readonly body: unknown;
  /** False for a denial and for a malformed review. */
  readonly allowed: boolean;
  /** For the log: what was decided. */
  readonly note: string;
}

const REVIEW_VERSIONS = ['admission.k8s.io/v1', 'admission.k8s.io/v1beta1'];

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

const issueText = (i: ResourceIssue): string => (i.field ? `${i.field}: ${i.message}` : i.message);

/** `a.b.io/v1` -> `a.b.io`; `v1` -> '' (the core group). */
function groupOf(apiVersion: unknown): string {
  return typeof apiVersion === 'string' && apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.lastIndexOf('/')) : '';
}

function badReview(message: string): ReviewResult {
  return { status: 400, allowed: false, body: { error: message }, note: `bad review: ${message}` };
}

export function handleValidationReview(body: unknown): ReviewResult {
  if (!isObject(body)) return badReview('body must be a JSON object (an AdmissionReview)');
  if (body.kind !== 'AdmissionReview') return badReview(`kind must be "AdmissionReview" (got ${JSON.stringify(body.kind)})`);
  if (!REVIEW_VERSIONS.includes(body.apiVersion as string)) return badReview(`apiVersion must be one of ${REVIEW_VERSIONS.join(', ')} (got ${JSON.stringify(body.apiVersion)})`);
  const req = body.request;
  if (!isObject(req)) return badReview('request is missing');
  if (typeof req.uid !== 'string' || req.uid === '') return badReview('request.uid must be a non-empty string');
  const answer = (response: Record<string, unknown>): unknown => ({ apiVersion: body.apiVersion, kind: 'AdmissionReview', response: { uid: req.uid, ...response } });
  const operation = typeof req.operation === 'string' ? req.operation : 'CREATE';
  if (operation === 'DELETE' || operation === 'CONNECT') return { status: 200, allowed: true, body: answer({ allowed: true }), note: `${operation}: allowed` };
  const obj = req.object;
  if (!isObject(obj)) return badReview('request.object must be the object to validate');
  const namespace = typeof req.namespace === 'string' && req.namespace ? req.namespace : 'default';
  const meta = isObject(obj.metadata) ? obj.metadata : {};
  const ref = `${String(obj.kind ?? (isObject(req.kind) ? req.kind.kind : '?'))} ${typeof meta.namespace === 'string' ? meta.namespace : namespace}/${typeof meta.name === 'string' ? meta.name : String(meta.generateName ?? '') + '*'}`;
  const deny = (message: string, warnings: string[] = []): ReviewResult => ({
    status: 200,
    allowed: false,
    body: answer({ allowed: false, status: { message }, ...(warnings.length > 0 ? { warnings } : {}) }),
    note: `${ref}: denied: ${message}`,
  });
  if (isObject(meta.annotations) && Object.prototype.hasOwnProperty.call(meta.annotations, ALWAYS_REJECT_ANNOTATION)) {
    return deny(`configuration is invalid: metadata.annotations.${ALWAYS_REJECT_ANNOTATION}: present, the object is always rejected (the control plane's check of its webhook)`);
  }
  const group = isObject(req.kind) && typeof req.kind.group === 'string' ? req.kind.group : groupOf(obj.apiVersion);
  if (!group.endsWith('.istio.io')) return { status: 200, allowed: true, body: answer({ allowed: true }), note: `${ref}: allowed (group ${group || 'core'} is not validated)` };
  const v = validateResource(obj, namespace);
  if (v.ok === 'ignored') return { status: 200, allowed: true, body: answer({ allowed: true }), note: `${ref}: allowed (kind ${v.kind} is not validated)` };
  const warnings = v.warnings.map(issueText);
  if (!v.ok) return deny(`configuration is invalid: ${v.errors.map(issueText).join('; ')}`, warnings);
  return { status: 200, allowed: true, body: answer({ allowed: true, ...(warnings.length > 0 ? { warnings } : {}) }), note: `${ref}: allowed` };
}
