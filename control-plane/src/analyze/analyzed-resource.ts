/**
 * The resources an analysis reads: any Kubernetes object (minimesh's validated kinds and the
 * others, such as StatefulSets, kept raw), each with its origin: the file and the line of its
 * first line when it was read from a file. Schema errors from minimesh's validators become
 * IST0106 messages; the invalid object is left out of the other analyzers.
 */
import YAML, { LineCounter, isMap, isSeq, type Node } from 'yaml';
import { validateResource } from '@minimesh/kube';
import { schemaValidationError, type AnalysisMessage, type MessageOrigin } from './analysis-message.js';
import { isRecord, stringMap } from './analysis-context.js';

export type RawObject = Readonly<Record<string, unknown>>;

export interface AnalyzedResource {
  readonly kind: string;
  /** '' for cluster-scoped kinds. */
  readonly namespace: string;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly obj: RawObject;
  readonly origin: MessageOrigin;
}

export interface ReadResult {
  readonly resources: AnalyzedResource[];
  readonly messages: AnalysisMessage[];
  /** Documents that are not YAML, or not objects: `file: message`. */
  readonly parseErrors: string[];
}

const CLUSTER_SCOPED = new Set(['Namespace', 'Node', 'ClusterRole', 'ClusterRoleBinding', 'CustomResourceDefinition', 'MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration', 'PersistentVolume', 'StorageClass', 'PriorityClass', 'IngressClass']);


/**
 * One object -> a resource (namespace filled in with `defaultNamespace` when it has none) and its
 * IST0106 messages. A document without kind or name is a parse error (undefined, message).
 */
export function analyzeObject(raw: unknown, defaultNamespace: string, file?: string, line?: number, nameLine?: number): { resource?: AnalyzedResource; messages: AnalysisMessage[]; error?: string } {
  if (!isRecord(raw) || typeof raw.kind !== 'string' || !raw.kind) return { messages: [], error: 'not a Kubernetes object (no kind)' };
  const meta = isRecord(raw.metadata) ? raw.metadata : {};
  const kind = raw.kind;
  const name = typeof meta.name === 'string' ? meta.name : '';
  const clusterScoped = CLUSTER_SCOPED.has(kind);
  const namespace = clusterScoped ? '' : typeof meta.namespace === 'string' && meta.namespace ? meta.namespace : defaultNamespace;
  const origin: MessageOrigin = { kind, namespace, name, ...(file !== undefined ? { file, line, ...(nameLine !== undefined ? { nameLine } : {}) } : {}) };
  const v = validateResource(raw, defaultNamespace);
  if (v.ok === false) {
    const messages = v.errors.map((e) => schemaValidationError(origin, `${e.field ? `${e.field}: ` : ''}${e.message}`));
    return { messages };
  }
  const obj: RawObject = v.ok === true ? (v.resource as unknown as RawObject) : { ...raw, metadata: { ...meta, ...(clusterScoped ? {} : { namespace }) } };
  return { resource: { kind, namespace, name, labels: stringMap(meta.labels), annotations: stringMap(meta.annotations), obj, origin }, messages: [] };
}

const lineOf = (node: Node | null | undefined, lc: LineCounter): number | undefined => (node?.range ? lc.linePos(node.range[0]).line : undefined);

/** The line of `metadata.name` in an object's node. */
function nameLineOf(node: unknown, lc: LineCounter): number | undefined {
  if (!isMap(node)) return undefined;
  const meta = node.get('metadata', true);
  return isMap(meta) ? lineOf(meta.get('name', true) as Node | undefined, lc) : undefined;
}

/** A file of YAML (or JSON) documents; `List` kinds are expanded, each item at its own line. */
export function readManifestText(text: string, file: string, defaultNamespace: string): ReadResult {
  const out: ReadResult = { resources: [], messages: [], parseErrors: [] };
  const lc = new LineCounter();
  for (const doc of YAML.parseAllDocuments(text, { uniqueKeys: true, lineCounter: lc })) {
    if (!('errors' in doc) || doc.errors.length > 0) {
      const e = 'errors' in doc ? doc.errors[0] : undefined;
      out.parseErrors.push(`${file}: ${e?.message.split('\n')[0] ?? 'unreadable document'}`);
      continue;
    }
    const value = doc.toJS({ maxAliasCount: 1000 }) as unknown;
    if (value === null || value === undefined) continue;
    const entries: { raw: unknown; line?: number; nameLine?: number }[] = [];
    const v = value as { kind?: unknown; items?: unknown };
    if (typeof v.kind === 'string' && v.kind.endsWith('List') && Array.isArray(v.items) && isMap(doc.contents)) {
      const seq = doc.contents.get('items', true);
      v.items.forEach((raw, i) =>
        entries.push({ raw, line: isSeq(seq) ? lineOf(seq.items[i] as Node, lc) : lineOf(doc.contents, lc), nameLine: isSeq(seq) ? nameLineOf(seq.items[i], lc) : undefined }),
      );
    } else entries.push({ raw: value, line: lineOf(doc.contents, lc), nameLine: nameLineOf(doc.contents, lc) });
    for (const e of entries) {
      const r = analyzeObject(e.raw, defaultNamespace, file, e.line ?? 1, e.nameLine);
      if (r.error !== undefined) out.parseErrors.push(`${file}:${e.line ?? 1}: ${r.error}`);
      if (r.resource) out.resources.push(r.resource);
      out.messages.push(...r.messages);
    }
  }
  return out;
}

/** Later resources of the same kind, namespace and name replace earlier ones (a file over the cluster). */
export function mergeResources(...lists: readonly (readonly AnalyzedResource[])[]): AnalyzedResource[] {
  const m = new Map<string, AnalyzedResource>();
  for (const list of lists) for (const r of list) m.set(`${r.kind}/${r.namespace}/${r.name}`, r);
  return [...m.values()];
}
