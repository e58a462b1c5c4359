/** Validation findings that name the resource and the field at fault. */
import { resourceRef } from './types.js';

export interface ResourceIssue {
  readonly level: 'error' | 'warning';
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  /** Dotted path from the object's root, e.g. `spec.http[0].route[1].weight`. */
  readonly field: string;
  readonly message: string;
  /** Where the folder source found the resource. */
  readonly file?: string;
  readonly documentIndex?: number;
}

/** `VirtualService default/reviews: spec.http[0].route[1].weight: must be an integer 0..100` (+ ` (file#doc)`). */
export function formatIssue(i: ResourceIssue): string {
  const where = i.file !== undefined ? ` (${i.file}${i.documentIndex !== undefined ? `#${i.documentIndex}` : ''})` : '';
  const ref = i.kind === 'Namespace' ? `Namespace ${i.name}` : `${i.kind} ${i.namespace}/${i.name}`;
  return `${ref}: ${i.field ? `${i.field}: ` : ''}${i.message}${where}`;
}

/** Collects issues about one resource. */
export class IssueCollector {
  readonly issues: ResourceIssue[] = [];
  constructor(
    readonly kind: string,
    readonly namespace: string,
    readonly name: string,
  ) {}

  static for(r: { kind: string; metadata?: { name?: string; namespace?: string } }): IssueCollector {
    return new IssueCollector(r.kind, r.metadata?.namespace ?? 'default', r.metadata?.name ?? '(unnamed)');
  }

  error(field: string, message: string): void {
    this.issues.push({ level: 'error', kind: this.kind, namespace: this.namespace, name: this.name, field, message });
  }

  warn(field: string, message: string): void {
    this.issues.push({ level: 'warning', kind: this.kind, namespace: this.namespace, name: this.name, field, message });
  }

  get errors(): ResourceIssue[] {
    return this.issues.filter((i) => i.level === 'error');
  }

  get warnings(): ResourceIssue[] {
    return this.issues.filter((i) => i.level === 'warning');
  }

  get ref(): string {
    return resourceRef({ kind: this.kind, metadata: { name: this.name, namespace: this.namespace } });
  }
}
