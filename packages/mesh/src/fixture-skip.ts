/**
 * For tests only: fixtures that live outside the repository (Istio's own files, read in place
 * from `../shared/testdata` beside the checkout, never copied in). A fresh clone has no such
 * folder: there a test that needs one is skipped, saying which folder and why; under `CI=true`
 * (CI always has it) the missing folder is a failure. Not exported from the package index:
 * programs never load it.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** packages/mesh/dist/src -> the repository root. */
const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');

/** Istio's files beside the repository (`MINIMESH_SHARED_TESTDATA` overrides). */
export const SHARED_TESTDATA = process.env.MINIMESH_SHARED_TESTDATA ?? join(REPO_ROOT, '..', 'shared', 'testdata');

/** What the helper needs of a tap test: a way to record a failure. */
export interface FailingTest {
  fail(message: string): unknown;
}

/**
 * `false` when every path exists, else the reason to skip (give it as tap's `skip` option),
 * naming the first missing path and what it holds. Under `CI=true` it also records a failure on
 * `t`, so the run fails with that reason instead of an ENOENT from deep inside the test.
 */
export function fixtureSkip(t: FailingTest, paths: string | readonly string[], what: string): string | false {
  const missing = (typeof paths === 'string' ? [paths] : paths).find((p) => !existsSync(p));
  if (missing === undefined) return false;
  const reason = `${what} not found at ${missing} (a clone without ../shared/testdata beside it; set MINIMESH_SHARED_TESTDATA to point elsewhere)`;
  if (process.env.CI === 'true') t.fail(`${reason}: CI must have it`);
  return reason;
}
