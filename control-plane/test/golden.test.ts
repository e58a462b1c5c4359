/**
 * Translation goldens, Istio's inject_test style: every folder under test/golden/ is a case
 * (`case.yaml`: inputs and proxies; inputs default to `input.yaml`), each proxy's resources
 * are compared with `<case>/<proxy>/expected.json`. REFRESH_GOLDEN=1 rewrites them; a golden
 * without a proxy in its case fails as stale. Everything generated is also compiled with
 * @minimesh/config: a compile error is a failure unless the case lists it as known.
 */
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { generateForProxy, proxyIdentity, type GenerateOptions } from '../src/index.js';
import { compileAll } from './helpers/compile.js';
import { fixtureSkip } from '@minimesh/mesh/fixture-skip';
import { makeModel, REPO_ROOT, SOURCE_TEST_DIR } from './helpers/fixtures.js';

interface CaseFile {
  inputs?: string[];
  proxies: { name: string; id: string; labels?: Record<string, string> }[];
  /** Substrings of compile errors that are known (features the proxy does not support yet). */
  knownCompileErrors?: string[];
  /** Generator options for every proxy of the case. */
  options?: GenerateOptions;
}

const GOLDEN = path.join(SOURCE_TEST_DIR, 'golden');
const refresh = process.env.REFRESH_GOLDEN === '1';

for (const name of fs.readdirSync(GOLDEN).sort()) {
  const dir = path.join(GOLDEN, name);
  if (!fs.statSync(dir).isDirectory()) continue;
  const cf = YAML.parse(fs.readFileSync(path.join(dir, 'case.yaml'), 'utf8')) as CaseFile;
  const inputs = (cf.inputs ?? ['input.yaml']).map((f) => path.resolve(dir, f));
  // Inputs outside the repository are Istio's (../shared/testdata): a clone without them skips the case.
  const skip = fixtureSkip(t, inputs.filter((f) => !f.startsWith(REPO_ROOT + path.sep)), `${name}: Istio's input`);
  t.test(name, { skip }, async (t) => {
    const { model, issues } = makeModel(inputs);
    t.same(issues.filter((i) => !i.includes('not translated') && !i.includes('NONE')), [], 'inputs load without errors');
    const known = new Set<string>();
    for (const p of cf.proxies) {
      const res = generateForProxy(model, proxyIdentity(p.id, p.labels ? { LABELS: p.labels } : {}, model), cf.options);
      const file = path.join(dir, p.name, 'expected.json');
      const text = JSON.stringify(res, null, 2) + '\n';
      if (refresh) {
        fs.mkdirSync(path.dirname(file), { recursive: true });
        fs.writeFileSync(file, text);
      } else if (!fs.existsSync(file)) {
        t.fail(`${name}/${p.name}/expected.json is missing: run with REFRESH_GOLDEN=1`);
      } else {
        t.equal(text, fs.readFileSync(file, 'utf8'), `${p.name} matches its golden`);
      }
      const errs = compileAll(res).errors.filter((e) => {
        const k = (cf.knownCompileErrors ?? []).find((s) => e.includes(s));
        if (k) known.add(k);
        return !k;
      });
      t.same(errs, [], `${p.name}: every resource compiles with @minimesh/config`);
      known.forEach((k) => t.comment(`${name}/${p.name}: not honoured by the proxy yet: ${k}`));
    }
    const goldens = fs.readdirSync(dir).filter((d) => fs.existsSync(path.join(dir, d, 'expected.json')));
    const stale = goldens.filter((g) => !cf.proxies.some((p) => p.name === g));
    t.same(stale, [], 'no stale goldens (a golden without a proxy in case.yaml)');
  });
}
