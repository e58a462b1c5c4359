/** YAML text -> validated resources and issues, each issue carrying file and document index. */
import { formatIssue, parseManifests, validateResource, type KubeResource, type ResourceIssue } from '@minimesh/kube';

export interface LoadedResource {
  readonly resource: KubeResource;
  readonly file: string;
  readonly documentIndex: number;
}

export interface RejectedResource {
  /** `Kind/namespace/name` when the document says that much, so a last good version can stand in. */
  readonly key: string | undefined;
  /**
   * Set when a document of this file is not even YAML (a syntax error, a half-written file):
   * what it held is unknown, so every last good resource of the file keeps serving.
   */
  readonly unparsedFile?: string;
  readonly errors: readonly ResourceIssue[];
}

export interface LoadResult {
  readonly resources: LoadedResource[];
  readonly rejected: RejectedResource[];
  readonly issues: ResourceIssue[];
}

export const resourceKey = (r: { kind: string; metadata?: { name?: string; namespace?: string } }): string =>
  `${r.kind}/${r.kind === 'Namespace' || r.kind === 'Node' ? '' : (r.metadata?.namespace ?? 'default')}/${r.metadata?.name ?? ''}`;

export function loadManifests(text: string, file: string, defaultNamespace = 'default'): LoadResult {
  const out: LoadResult = { resources: [], rejected: [], issues: [] };
  for (const doc of parseManifests(text)) {
    if (doc.error !== undefined) {
      const issue: ResourceIssue = { level: 'error', kind: '(unknown)', namespace: defaultNamespace, name: '(unparsed)', field: '', message: doc.error, file, documentIndex: doc.index };
      out.issues.push(issue);
      out.rejected.push({ key: undefined, unparsedFile: file, errors: [issue] });
      continue;
    }
    const v = validateResource(doc.value, defaultNamespace);
    if (v.ok === 'ignored') continue;
    const at = (i: ResourceIssue): ResourceIssue => ({ ...i, file, documentIndex: doc.index });
    out.issues.push(...v.warnings.map(at));
    if (v.ok) {
      out.resources.push({ resource: v.resource, file, documentIndex: doc.index });
    } else {
      const errors = v.errors.map(at);
      out.issues.push(...errors);
      const raw = doc.value as { kind?: string; metadata?: { name?: string; namespace?: string } };
      const named = typeof raw?.kind === 'string' && typeof raw.metadata?.name === 'string';
      out.rejected.push({ key: named ? resourceKey({ kind: raw.kind!, metadata: { namespace: defaultNamespace, ...raw.metadata } }) : undefined, errors });
    }
  }
  return out;
}

export { formatIssue };
