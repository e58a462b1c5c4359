/**
 * Config problems as `istioctl analyze` prints them:
 *   Error [IST0106] (VirtualService default/x echo.yaml#2) spec.http[0].route: must not be empty
 * and a reporter that prints each line once (again only after it went away and came back).
 */
import type { ResourceIssue } from '@minimesh/kube';

/** IST0106 SchemaValidationError: what the validator rejects. */
export const SCHEMA_VALIDATION_ERROR = 'IST0106';

export function analyzeLine(i: ResourceIssue): string {
  const level = i.level === 'error' ? 'Error' : 'Warning';
  const code = i.level === 'error' ? ` [${SCHEMA_VALIDATION_ERROR}]` : '';
  const ref = i.kind === 'Namespace' || i.namespace === '' ? `${i.kind} ${i.name}` : `${i.kind} ${i.namespace}/${i.name}`;
  const where = i.file !== undefined ? ` ${i.file}${i.documentIndex !== undefined ? `#${i.documentIndex}` : ''}` : '';
  return `${level}${code} (${ref}${where}) ${i.field ? `${i.field}: ` : ''}${i.message}`;
}

/** Prints the lines of a report that the previous report of the same topic did not have. */
export class OnceReporter {
  private readonly previous = new Map<string, Set<string>>();

  constructor(private readonly print: (line: string) => void) {}

  /**
   * `topic`: e.g. "source" or a proxy id; `lines`: everything currently wrong about it.
   * `resolved`: a line that went away is printed again after this prefix (e.g. a Gateway's
   * selector found once its gateway pod connected), so the log does not leave a stale error.
   */
  report(topic: string, lines: readonly string[], resolved?: string): void {
    const before = this.previous.get(topic) ?? new Set<string>();
    const now = new Set(lines);
    if (resolved !== undefined) for (const l of before) if (!now.has(l)) this.print(`${resolved}${l}`);
    for (const l of now) if (!before.has(l)) this.print(l);
    if (now.size === 0) this.previous.delete(topic);
    else this.previous.set(topic, now);
  }

  forget(topic: string): void {
    this.previous.delete(topic);
  }
}
