/** Istio's own injection inputs, read in place from ../shared/testdata (never copied). */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { fixtureSkip, SHARED_TESTDATA, type FailingTest } from '@minimesh/mesh/fixture-skip';

export const ISTIO_INJECT_DIR = process.env.ISTIO_INJECT_TESTDATA ?? join(SHARED_TESTDATA, 'istio', 'inject');

/** tap's `skip` for a test reading Istio's injection inputs (see @minimesh/mesh/fixture-skip). */
export const istioInjectSkip = (t: FailingTest): string | false => fixtureSkip(t, ISTIO_INJECT_DIR, "Istio's injection inputs (ISTIO_INJECT_TESTDATA)");

/** Inputs that have Istio's `.injected` output beside them. */
export function istioInjectCases(): string[] {
  if (!existsSync(ISTIO_INJECT_DIR)) return [];
  return readdirSync(ISTIO_INJECT_DIR)
    .filter((f) => f.endsWith('.yaml') && existsSync(join(ISTIO_INJECT_DIR, `${f}.injected`)))
    .sort();
}

export function readIstio(name: string): string {
  return readFileSync(join(ISTIO_INJECT_DIR, name), 'utf8');
}

export function yamlDocs(text: string): unknown[] {
  return parseAllDocuments(text)
    .map((d) => d.toJS() as unknown)
    .filter((d) => d !== null && d !== undefined);
}
