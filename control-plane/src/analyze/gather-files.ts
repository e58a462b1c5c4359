/**
 * The files an analysis reads: each argument is a file, a folder (its `.yaml`, `.yml` and
 * `.json` files; sub-folders too with `-R`), or `-` for standard input. Other files are skipped
 * with a note.
 */
import fs from 'node:fs';
import path from 'node:path';

export const FILE_EXTENSIONS: readonly string[] = ['.json', '.yaml', '.yml'];

export interface GatheredFile {
  /** The name messages cite: the path as given, joined with the folder's entries. */
  readonly name: string;
  readonly text: string;
}

export interface GatherResult {
  readonly files: GatheredFile[];
  /** `Skipping file x, recognized file extensions are: [.json .yaml .yml]` lines. */
  readonly skipped: string[];
}

const skipNote = (f: string): string => `Skipping file ${f}, recognized file extensions are: [${FILE_EXTENSIONS.join(' ')}]`;
const valid = (f: string): boolean => FILE_EXTENSIONS.includes(path.extname(f));

function walk(dir: string, recursive: boolean, out: GatherResult): void {
  const entries = fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) {
      if (recursive) walk(p, recursive, out);
    } else if (!valid(p)) out.skipped.push(skipNote(p));
    else out.files.push({ name: p, text: fs.readFileSync(p, 'utf8') });
  }
}

/** Throws (ENOENT, ...) for a path that cannot be read, as `stat x: no such file or directory`. */
export function gatherFiles(args: readonly string[], recursive: boolean, readStdin: () => string): GatherResult {
  const out: GatherResult = { files: [], skipped: [] };
  for (const a of args) {
    if (a === '-') {
      out.files.push({ name: '-', text: readStdin() });
      continue;
    }
    let st: fs.Stats;
    try {
      st = fs.statSync(a);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new Error(`stat ${a}: ${code === 'ENOENT' ? 'no such file or directory' : (e as Error).message}`);
    }
    if (st.isDirectory()) walk(a, recursive, out);
    else if (!valid(a)) out.skipped.push(skipNote(a));
    else out.files.push({ name: a, text: fs.readFileSync(a, 'utf8') });
  }
  return out;
}
