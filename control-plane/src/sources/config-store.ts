/**
 * The resources a source currently holds, with Istio's "keep the last good version" rule:
 * a resource whose new version is invalid keeps serving its previous valid version.
 */
import type { KubeResource, ResourceIssue } from '@minimesh/kube';
import { resourceKey, type LoadedResource, type RejectedResource } from './load-manifests.js';

export class ConfigStore {
  private current = new Map<string, LoadedResource>();
  private lastGood = new Map<string, LoadedResource>();

  /**
   * Replaces the whole content (a folder re-scan or a relist). Returns true when the set of
   * resources changed. Rejected resources with a known key keep their last good version; a file
   * with a document that does not parse keeps all of its last good resources.
   */
  replaceAll(valid: readonly LoadedResource[], rejected: readonly RejectedResource[]): { changed: boolean; kept: string[] } {
    const next = new Map<string, LoadedResource>();
    for (const l of valid) next.set(resourceKey(l.resource), l);
    const kept: string[] = [];
    const keep = (k: string, prev: LoadedResource | undefined): void => {
      if (!prev || next.has(k)) return;
      next.set(k, prev);
      kept.push(k);
    };
    for (const r of rejected) {
      if (r.key) keep(r.key, this.lastGood.get(r.key));
      // A file that does not parse: keep all that it held last time it did.
      if (r.unparsedFile !== undefined) for (const [k, l] of this.lastGood) if (l.file === r.unparsedFile) keep(k, l);
    }
    const changed = !sameContent(this.current, next);
    this.current = next;
    this.lastGood = new Map(next);
    return { changed, kept };
  }

  /** One resource added or modified (a watch event). */
  upsert(l: LoadedResource): boolean {
    const k = resourceKey(l.resource);
    const prev = this.current.get(k);
    if (prev && JSON.stringify(prev.resource) === JSON.stringify(l.resource)) return false;
    this.current.set(k, l);
    this.lastGood.set(k, l);
    return true;
  }

  delete(key: string): boolean {
    this.lastGood.delete(key);
    return this.current.delete(key);
  }

  resources(): KubeResource[] {
    return [...this.current.values()].map((l) => l.resource);
  }

  get size(): number {
    return this.current.size;
  }
}

function sameContent(a: Map<string, LoadedResource>, b: Map<string, LoadedResource>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) {
    const w = b.get(k);
    if (!w || JSON.stringify(w.resource) !== JSON.stringify(v.resource)) return false;
  }
  return true;
}

export type IssueReporter = (issues: readonly ResourceIssue[]) => void;
