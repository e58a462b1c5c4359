/**
 * `minimesh install`, `verify-install`, `uninstall --purge` and `x precheck` as real processes
 * against the fake API server (the real REST protocol: discovery, server-side apply, reads,
 * deletes, CRDs adding kinds): the objects appear with their labels, the progress lines print,
 * readiness is waited for and times out with a clear error, and everything goes again.
 */
import t from 'tap';

// Real processes against a real (fake) API server: slow on a loaded 2-core machine.
t.setTimeout(400_000);
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FakeApiServer } from '@minimesh/kube-fake';
import { INJECTOR_WEBHOOK_CONFIG, ISTIO_NAMESPACE, MINIMESH_VERSION, REVISION_TAG_WEBHOOK_CONFIG } from '@minimesh/mesh';
import { renderManifest, resolveInstallValues } from '../src/index.js';

const CLI = fileURLToPath(new URL('../../../cli/bin/minimesh.js', import.meta.url));

interface Run {
  code: number;
  out: string;
  err: string;
}

function run(args: string[], input?: string): Promise<Run> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [CLI, ...args], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, KUBECONFIG: '/nonexistent' } });
    let out = '';
    let err = '';
    p.stdout.on('data', (c) => (out += c));
    p.stderr.on('data', (c) => (err += c));
    p.on('close', (code) => resolve({ code: code ?? -1, out, err }));
    p.stdin.end(input ?? '');
  });
}

async function cluster(t: { teardown(fn: () => unknown): void }, opts: ConstructorParameters<typeof FakeApiServer>[0]): Promise<{ api: FakeApiServer; kubeconfig: string }> {
  const api = new FakeApiServer({ istioKinds: false, ...opts });
  await api.start();
  t.teardown(() => api.stop());
  const dir = mkdtempSync(join(tmpdir(), 'minimesh-install-'));
  const kubeconfig = join(dir, 'config');
  writeFileSync(kubeconfig, api.kubeconfig());
  return { api, kubeconfig };
}

t.test('install --set profile=demo, verify-install, uninstall --purge', async (t) => {
  const { api, kubeconfig } = await cluster(t, { deploymentsReadyAfterMs: 300 });
  const install = await run(['install', '--set', 'profile=demo', '-y', '--kubeconfig', kubeconfig]);
  t.equal(install.code, 0, `install exits 0 (stderr: ${install.err})`);
  const lines = install.out.split('\n');
  const done = lines.filter((l) => l.startsWith('✔') || l.startsWith('Made'));
  t.same(done.slice(0, 2), ['✔ Istio core installed', '✔ Istiod installed'], 'core, then Istiod');
  t.same(done.slice(2, 4).sort(), ['✔ Egress gateways installed', '✔ Ingress gateways installed'], 'then both gateways (in either order)');
  t.same(done.slice(4), ['✔ Installation complete', 'Made this installation the default for injection and validation.'], 'then the closing lines');
  t.ok(lines.includes('- Processing resources for Istiod. Waiting for Deployment/istio-system/istiod'), 'the waiting line names the Deployment waited for');

  const rendered = renderManifest(resolveInstallValues({ sets: ['profile=demo'], files: [] })).flatMap((c) => c.objects);
  const missing = rendered.filter((o) => !api.get(o.kind, o.metadata.namespace, o.metadata.name));
  t.same(missing.map((o) => `${o.kind}/${o.metadata.name}`), [], `all ${rendered.length} rendered objects are in the cluster`);
  const istiod = api.get('Deployment', ISTIO_NAMESPACE, 'istiod')!;
  t.match(istiod.metadata.labels, { 'operator.istio.io/component': 'Pilot', 'operator.istio.io/managed': 'Reconcile', 'operator.istio.io/version': MINIMESH_VERSION, 'istio.io/rev': 'default' }, 'operator labels stamped');
  t.ok(api.requests.some((r) => r.startsWith('PATCH /apis/apps/v1/namespaces/istio-system/deployments/istiod?') && r.includes('fieldManager=istio-operator') && r.includes('force=true')), 'server-side apply with istioctl\'s field manager, forced');
  t.ok(api.get('MutatingWebhookConfiguration', undefined, REVISION_TAG_WEBHOOK_CONFIG), 'the default-revision tag webhook is there');
  const canonical = api.get('MutatingWebhookConfiguration', undefined, INJECTOR_WEBHOOK_CONFIG) as unknown as { webhooks: { namespaceSelector: unknown }[] };
  t.ok(canonical.webhooks.every((w) => JSON.stringify(w.namespaceSelector).includes('never-match')), 'the canonical injector is deactivated');

  const verify = await run(['verify-install', '--kubeconfig', kubeconfig]);
  t.equal(verify.code, 0, 'verify-install passes');
  t.match(verify.out, /✔ Deployment: istiod\.istio-system checked successfully/);
  t.match(verify.out, /Checked \d+ custom resource definitions\nChecked 3 minimesh Deployments\n✔ minimesh is installed and verified successfully/);

  const uninstall = await run(['uninstall', '--purge', '-y', '--kubeconfig', kubeconfig]);
  t.equal(uninstall.code, 0);
  t.match(uninstall.out, /  Removed Deployment:istio-system:istiod\.\n/);
  t.match(uninstall.out, /  Removed CustomResourceDefinition::virtualservices\.networking\.istio\.io\.\n/);
  t.match(uninstall.out, /✔ Uninstall complete\n$/);
  const left = rendered.filter((o) => api.get(o.kind, o.metadata.namespace, o.metadata.name));
  t.same(left.map((o) => `${o.kind}/${o.metadata.name}`), [], 'nothing rendered is left');
  t.notOk(api.get('MutatingWebhookConfiguration', undefined, REVISION_TAG_WEBHOOK_CONFIG), 'the tag webhook is gone too');
  t.ok(api.get('Namespace', undefined, ISTIO_NAMESPACE), 'the namespace istio-system stays, as with istioctl');

  const after = await run(['verify-install', '--kubeconfig', kubeconfig]);
  t.equal(after.code, 1, 'verify-install fails after uninstall');
});

t.test('readiness: waits, then times out naming what is not ready', async (t) => {
  const { api, kubeconfig } = await cluster(t, {});
  const r = await run(['install', '--set', 'profile=minimal', '-y', '--readiness-timeout', '2s', '--kubeconfig', kubeconfig]);
  t.equal(r.code, 1, 'exit 1');
  t.match(r.out, /✔ Istio core installed\n/);
  t.match(r.out, /✘ Istiod encountered an error: failed to wait for resource: resources not ready after 2s: context deadline exceeded\nDeployment\/istio-system\/istiod \(.+\)\n/);
  t.match(r.out, /Error: failed to install manifests: errors occurred during operation/);
  t.notMatch(r.out, /Installation complete/);
  t.ok(api.get('Deployment', ISTIO_NAMESPACE, 'istiod'), 'the Deployment was applied, just not ready');

  // Ready while install waits: the wait ends.
  const pending = run(['install', '--set', 'profile=minimal', '-y', '--readiness-timeout', '20s', '--kubeconfig', kubeconfig]);
  await new Promise((r) => setTimeout(r, 1500));
  api.setDeploymentReady(ISTIO_NAMESPACE, 'istiod');
  const ok = await pending;
  t.equal(ok.code, 0, 'ready while waiting: install completes');
  t.same(ok.out.split('\n').filter((l) => l.startsWith('✔')), ['✔ Istio core installed', '✔ Istiod installed', '✔ Installation complete'], 'minimal: core and Istiod only');
});

t.test('the prompt, bad flags, an unreachable cluster, precheck', async (t) => {
  const { api, kubeconfig } = await cluster(t, {});
  const no = await run(['install', '--set', 'profile=demo', '--kubeconfig', kubeconfig], 'n\n');
  t.match(no.out, `This will install the minimesh ${MINIMESH_VERSION} "demo" profile (with components: Istio core, Istiod, Ingress gateways, and Egress gateways) into the cluster. Proceed? (y/N) Cancelled.`);
  t.equal(no.code, 1, 'no: exit 1');
  t.notOk(api.get('Namespace', undefined, ISTIO_NAMESPACE), 'nothing applied');
  const eof = await run(['install', '--kubeconfig', kubeconfig]);
  t.match(eof.out, /Cancelled\./, 'no input at all is a no');

  const dry = await run(['install', '--set', 'profile=demo', '--dry-run', '--kubeconfig', kubeconfig]);
  t.equal(dry.code, 0, `--dry-run exits 0 (${dry.err})`);
  t.match(dry.out, /✔ Istio core: \d+ objects \(dry run; istio-system does not exist yet, so the API server checked \d+ of them\)\n/);
  t.match(dry.out, /✔ Dry run complete: nothing was applied\n$/);
  t.notOk(api.get('Namespace', undefined, ISTIO_NAMESPACE), '--dry-run: nothing applied');
  t.ok(api.requests.some((r) => r.startsWith('PATCH /apis/apiextensions.k8s.io/v1/customresourcedefinitions/') && r.includes('dryRun=All')), 'the CRDs went through the API server\'s dry run');
  t.same(api.list('CustomResourceDefinition'), [], 'and none was created');

  const bad = await run(['install', '--set', 'profile=huge', '-y', '--kubeconfig', kubeconfig]);
  t.equal(bad.code, 64, 'an unknown profile is a usage error');
  t.match(bad.err, /profile/);
  const dur = await run(['install', '-y', '--readiness-timeout', 'soon', '--kubeconfig', kubeconfig]);
  t.match(dur.err, /--readiness-timeout: expected a duration/);

  const dir = mkdtempSync(join(tmpdir(), 'minimesh-install-'));
  const dead = join(dir, 'config');
  writeFileSync(dead, api.kubeconfig().replace(`127.0.0.1:${api.port}`, '127.0.0.1:1'));
  const down = await run(['install', '-y', '--kubeconfig', dead]);
  t.equal(down.code, 1);
  t.match(down.out + down.err, /the Kubernetes API server cannot be reached/);

  const pre = await run(['x', 'precheck', '--kubeconfig', kubeconfig]);
  t.equal(pre.code, 0);
  t.match(pre.err, '✔ No issues found when checking the cluster. minimesh is safe to install or upgrade!');
  const preDown = await run(['x', 'precheck', '--kubeconfig', dead]);
  t.equal(preDown.code, 1);

  const un = await run(['uninstall', '--kubeconfig', kubeconfig]);
  t.equal(un.code, 64);
  t.match(un.err, /at least one of the --revision .* or --purge flags must be set/);
});
