/**
 * Plain-text tables, shared by the bench report and the CLI (`proxy-status`, `proxy-config`).
 *
 *   renderTable(headers, rows)                                  bench style: first column left,
 *                                                               others right, a rule under the header
 *   renderTable(headers, rows, { left: 'all', rule: false })    istioctl style: every column left
 */
export interface TableOptions {
  /** Columns aligned left (default: the first); the others are right-aligned. */
  readonly left?: readonly number[] | 'all';
  /** A line of dashes under the header (default true). */
  readonly rule?: boolean;
  /** Spaces between columns (default 2). */
  readonly gap?: number;
}

export function renderTable(headers: readonly string[], rows: readonly (readonly string[])[], opts: TableOptions | readonly number[] = {}): string {
  const o: TableOptions = Array.isArray(opts) ? { left: opts as readonly number[] } : (opts as TableOptions);
  const left = o.left ?? [0];
  const isLeft = (i: number): boolean => left === 'all' || left.includes(i);
  const sep = ' '.repeat(o.gap ?? 2);
  const width = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    headers
      .map((_, i) => cells[i] ?? '')
      .map((c, i) => (isLeft(i) ? c.padEnd(width[i]) : c.padStart(width[i])))
      .join(sep)
      .trimEnd();
  const out = [line(headers)];
  if (o.rule ?? true) out.push(width.map((w) => '-'.repeat(w)).join(sep));
  return [...out, ...rows.map(line)].join('\n');
}
