/** Multi-document YAML -> raw objects with their document index (`---` separated, `List` kinds expanded). */
import YAML from 'yaml';

export interface ParsedDocument {
  /** 0-based index of the document in its file. */
  readonly index: number;
  readonly value?: unknown;
  readonly error?: string;
}

export function parseManifests(text: string): ParsedDocument[] {
  const out: ParsedDocument[] = [];
  YAML.parseAllDocuments(text, { uniqueKeys: true }).forEach((doc, index) => {
    if (!('errors' in doc) || doc.errors.length > 0) {
      const e = 'errors' in doc ? doc.errors[0] : undefined;
      const lp = e?.linePos?.[0];
      out.push({ index, error: `YAML syntax error${lp ? ` at line ${lp.line}, column ${lp.col}` : ''}: ${e?.message.split('\n')[0] ?? 'unreadable document'}` });
      return;
    }
    const value = doc.toJS({ maxAliasCount: 1000 }) as unknown;
    if (value === null || value === undefined) return; // empty document (a trailing `---`)
    const v = value as { kind?: unknown; items?: unknown };
    if (typeof v.kind === 'string' && v.kind.endsWith('List') && Array.isArray(v.items)) {
      for (const item of v.items) out.push({ index, value: item });
    } else out.push({ index, value });
  });
  return out;
}
