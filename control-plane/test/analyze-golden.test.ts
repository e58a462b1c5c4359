/**
 * `minimesh analyze` goldens: every folder under test/analyze/ is a case, its `*.yaml` analyzed
 * with --use-kube=false (plus the flags in `args`, if any) from inside the folder, so messages
 * cite `input.yaml:<line>`; stdout must equal `expected.txt`, and the exit code is 79 exactly
 * when an Error is expected. REFRESH_GOLDEN=1 rewrites expected.txt.
 */
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { SOURCE_TEST_DIR } from './helpers/fixtures.js';
import { runAnalyze } from './helpers/run-analyze.js';

const CASES = path.join(SOURCE_TEST_DIR, 'analyze');
const refresh = process.env.REFRESH_GOLDEN === '1';

for (const name of fs.readdirSync(CASES).sort()) {
  const dir = path.join(CASES, name);
  if (!fs.statSync(dir).isDirectory()) continue;
  t.test(name, async (t) => {
    const files = fs.readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort();
    const argsFile = path.join(dir, 'args');
    const args = fs.existsSync(argsFile) ? fs.readFileSync(argsFile, 'utf8').split(/\s+/).filter(Boolean) : [];
    const r = await runAnalyze(['--use-kube=false', ...args, ...files], { cwd: dir });
    const expectedFile = path.join(dir, 'expected.txt');
    if (refresh) fs.writeFileSync(expectedFile, r.stdout);
    const expected = fs.readFileSync(expectedFile, 'utf8');
    t.equal(r.stdout, expected, 'stdout as expected.txt');
    t.equal(r.code, expected.split('\n').some((l) => l.startsWith('Error [')) ? 79 : 0, 'exit code');
    if (name === 'clean') t.equal(r.stderr, '\u2714 No validation issues found when analyzing input.yaml.\n');
    else t.match(expected, new RegExp(`\\[${name}\\]`), `the golden shows ${name}`);
  });
}
