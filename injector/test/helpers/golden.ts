/**
 * Golden files under injector/test/golden/: compared as text; REFRESH_GOLDEN=1 rewrites them.
 * A golden that no test case produced any more is reported by `staleGoldens`.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** injector/ (tests run from injector/dist/test/). */
export const INJECTOR_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const GOLDEN_ROOT = join(INJECTOR_ROOT, 'test', 'golden');
export const REFRESH = process.env.REFRESH_GOLDEN === '1';

export interface GoldenResult {
  readonly actual: string;
  readonly expected: string;
  readonly file: string;
}

/** Reads (or, with REFRESH_GOLDEN=1, writes) golden `dir/name` for `actual`. */
export function golden(dir: string, name: string, actual: string): GoldenResult {
  const file = join(GOLDEN_ROOT, dir, name);
  if (REFRESH || !existsSync(file)) {
    if (!REFRESH && process.env.CI === 'true') return { actual, expected: `(missing golden ${file})`, file };
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, actual);
  }
  return { actual, expected: readFileSync(file, 'utf8'), file };
}

/** Golden files in `dir` that no case named. */
export function staleGoldens(dir: string, names: readonly string[]): string[] {
  const d = join(GOLDEN_ROOT, dir);
  if (!existsSync(d)) return [];
  const want = new Set(names);
  return readdirSync(d).filter((f) => !want.has(f));
}
