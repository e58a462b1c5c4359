/** `minimesh manifest generate` and `profile list`: output, errors, and the real bin. */
import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { manifestGenerateMain, manifestMain, MANIFEST_GENERATE_USAGE } from '../src/cli/manifest-generate.js';
import { profileMain } from '../src/cli/profile-list.js';
import { manifestObjects, renderManifest, resolveInstallValues } from '../src/index.js';

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'cli', 'bin', 'minimesh.js');

function run(main: (argv: string[], io: never) => number, argv: string[]) {
  let stdout = '';
  let stderr = '';
  const code = main(argv, { stdout: (s: string) => (stdout += s), stderr: (s: string) => (stderr += s) } as never);
  return { code, stdout, stderr };
}
const docs = (text: string) => YAML.parseAllDocuments(text).map((d) => d.toJS());

t.test('the output is renderManifest as YAML documents, CRDs first', async (t) => {
  for (const sets of [['profile=demo'], [], ['profile=minimal', 'values.global.proxy.image=x/minimesh:1']]) {
    const r = run(manifestGenerateMain, sets.flatMap((s) => ['--set', s]));
    t.equal(r.code, 0);
    t.equal(r.stderr, '');
    const want = manifestObjects(renderManifest(resolveInstallValues({ sets, files: [] })));
    t.same(docs(r.stdout), JSON.parse(JSON.stringify(want)), `${sets.join(' ')}: the same objects in the same order`);
    t.equal(docs(r.stdout)[0].kind, 'CustomResourceDefinition');
  }
  const empty = run(manifestGenerateMain, ['--profile', 'empty']);
  t.same([empty.code, empty.stdout], [0, ''], 'the empty profile renders nothing');
});

t.test('-f files and warnings', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'manifest-generate-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const f = path.join(dir, 'op.yaml');
  fs.writeFileSync(f, 'apiVersion: install.istio.io/v1alpha1\nkind: IstioOperator\nspec:\n  profile: demo\n  hub: docker.io/istio\n  values:\n    gateways:\n      istio-ingressgateway:\n        type: NodePort\n');
  const r = run(manifestGenerateMain, ['-f', f, '-s', 'meshConfig.accessLogFile=/dev/stderr']);
  t.equal(r.code, 0);
  t.equal(r.stderr, `Warning: ${f}: spec.hub: ignored: minimesh runs one image for every role (set values.global.proxy.image)\n`);
  const objs = docs(r.stdout);
  t.equal(objs.find((o) => o.kind === 'Service' && o.metadata.name === 'istio-ingressgateway').spec.type, 'NodePort');
  t.match(objs.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'istio').data.mesh, /accessLogFile: \/dev\/stderr/);
  t.ok(objs.some((o) => o.metadata.name === 'istio-egressgateway'), 'the demo profile from the file');
});

t.test('errors: bad values exit 1 naming the key; bad flags exit 2 with the usage', async (t) => {
  const bad = run(manifestGenerateMain, ['--set', 'values.gateways.istio-ingressgateway.type=Public']);
  t.same([bad.code, bad.stdout], [1, '']);
  t.equal(bad.stderr, 'minimesh manifest generate: --set values.gateways.istio-ingressgateway.type: expected one of LoadBalancer, NodePort, ClusterIP, got "Public"\n');
  const flag = run(manifestGenerateMain, ['--revision', 'x']);
  t.equal(flag.code, 2);
  t.match(flag.stderr, /Unknown option '--revision'/);
  t.match(flag.stderr, /Usage: minimesh manifest generate/);
  t.equal(run(manifestGenerateMain, ['extra']).code, 2);
  const help = run(manifestGenerateMain, ['--help']);
  t.same([help.code, help.stdout], [0, MANIFEST_GENERATE_USAGE]);
  t.equal(run(manifestMain, ['apply']).code, 2);
  t.match(run(manifestMain, []).stdout, /generate/);
});

t.test('profile list', async (t) => {
  const r = run(profileMain, ['list']);
  t.same([r.code, r.stdout], [0, 'Istio configuration profiles:\n    default\n    demo\n    empty\n    minimal\n']);
  t.equal(run(profileMain, ['dump']).code, 2);
});

t.test('through the minimesh bin', async (t) => {
  const out = execFileSync(BIN, ['manifest', 'generate', '--set', 'profile=minimal'], { encoding: 'utf8' });
  t.same(docs(out), JSON.parse(JSON.stringify(manifestObjects(renderManifest(resolveInstallValues({ sets: ['profile=minimal'], files: [] }))))));
  t.match(execFileSync(BIN, ['--help'], { encoding: 'utf8' }), /^ {2}manifest +manifest generate: /m);
  t.match(execFileSync(BIN, ['profile', 'list'], { encoding: 'utf8' }), /^Istio configuration profiles:\n {4}default\n/);
});
