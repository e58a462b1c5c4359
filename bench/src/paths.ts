// Where things live, resolved from this file's compiled location (bench/dist/src/).
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/** bench/ */
export const benchDir = resolve(here, '..', '..');
/** repository root */
export const repoRoot = resolve(benchDir, '..');
/** compiled bench programs (bench/dist/src) */
export const distDir = here;
/** the minimesh CLI of the tree rooted at `root` (this tree by default, or a base build's worktree) */
export function cliOf(root: string): string {
  return resolve(root, 'packages', 'cli', 'bin', 'minimesh.js');
}
/** the real proxy's command line (before the `proxy --bootstrap …` arguments) */
export const minimeshCli = cliOf(repoRoot);
/** the stand-in proxy used while developing the harness */
export const standinProxy = resolve(here, 'dev-standin-proxy.js');
export const resultsDir = resolve(benchDir, 'results');

export function distProgram(name: string): string {
  return resolve(here, `${name}.js`);
}
