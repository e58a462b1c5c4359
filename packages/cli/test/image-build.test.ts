/**
 * The container image: the Dockerfile at the repository root, built with buildah and run, with
 * no image registry. The base image is assembled here (debootstrap + apt + this machine's
 * node; see helpers/image-base.ts) and kept between runs in the test's own buildah storage
 * (helpers/buildah.ts: /var/tmp/minimesh-image). Then, inside the built image: `minimesh
 * version`, the injected init container's `minimesh iptables` arguments with --dry-run, the
 * SO_ORIGINAL_DST addon loading, and `minimesh proxy` carrying a request from the host to an
 * upstream on the host. Also the image's default user (1337) and entrypoint (`minimesh`).
 *
 * Needs root, buildah and debootstrap (and npm's registry, which `npm ci` in the build reaches).
 * Without them it says why and skips; under CI=true a skip is a failure, because CI has them.
 */
import t, { type Test } from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MINIMESH_IMAGE, MINIMESH_VERSION, PORTS, PROXY_GID, PROXY_UID } from '@minimesh/mesh';
import { buildInitContainer } from '@minimesh/injector/init-container';
import { DEFAULT_INJECT_OPTIONS } from '@minimesh/injector/inject-options';
import { Buildah } from './helpers/buildah.js';
import { ensureBaseImage, findNodeInstall, NODEDIR_IN_IMAGE, type NodeInstall } from './helpers/image-base.js';
import { cannotBuildImages, progress, secondsSince } from './helpers/image-tools.js';
import { freePort, PROXY_NODE_ID, startBackground, startUpstream, staticBootstrap, UPSTREAM_BODY, waitForOk } from './helpers/image-proxy-run.js';

const REPO = fileURLToPath(new URL('../../../../', import.meta.url));
/** As buildah names `minimesh:<version>`. */
const IMAGE = `localhost/${MINIMESH_IMAGE}`;
const CONTAINER = 'minimesh-image-test';
const BOOTSTRAP_IN_IMAGE = '/tmp/minimesh-image-test-bootstrap.json';

/** buildah bud's lines worth showing: each step, npm's summaries, the result. */
function budProgress(line: string): boolean {
  return /^(\[\d+\/\d+\] )?(STEP \d+\/\d+|COMMIT)|^(added|removed) \d+ packages|^minimesh \d|^Successfully tagged/.test(line);
}

const node = findNodeInstall();
const why = cannotBuildImages() ?? (typeof node === 'string' ? node : undefined);
if (why !== undefined || typeof node === 'string') {
  if (process.env.CI === 'true') {
    t.fail(`the image test must run in CI, but: ${why}`);
  } else {
    t.comment(`skipping the image test: ${why}`);
    t.pass('skipped (not CI)');
  }
} else {
  // A cold machine: about 2 min for the base, 1-2 min for the build; a warm one skips the base.
  t.setTimeout(900_000);
  t.test('the container image', { timeout: 880_000 }, (t) => imageTest(t, node));
}

async function imageTest(t: Test, node: NodeInstall): Promise<void> {
  const b = Buildah.open();
  progress(`buildah storage: ${b.driver} in ${b.workDir} (log: ${b.logFile}); to look: ${b.describe()}`);
  const timings: string[] = [];
  let base: string | undefined;
  let built = false;

  await t.test('a base image assembled here, with no registry', async (t) => {
    const t0 = Date.now();
    base = await ensureBaseImage(b, node);
    timings.push(`base ${secondsSince(t0)} s`);
    t.ok(b.imageExists(base), `${base} is in the test's storage`);
  });

  await t.test('the Dockerfile builds on it', async (t) => {
    if (base === undefined) return t.fail('no base image');
    b.removeContainer(CONTAINER);
    if (b.imageExists(IMAGE)) b.must(['rmi', IMAGE]);
    b.sync(['rmi', '--prune']);
    const t0 = Date.now();
    progress(`build: buildah bud -t ${MINIMESH_IMAGE} ${REPO} on ${base}`);
    await b.run(
      ['bud', '--isolation', 'chroot', '--build-arg', `BASE_IMAGE=${base}`, '--build-arg', `npm_config_nodedir=${NODEDIR_IN_IMAGE}`, '-t', MINIMESH_IMAGE, '-f', join(REPO, 'Dockerfile'), REPO],
      { label: 'build', show: budProgress },
    );
    timings.push(`build ${secondsSince(t0)} s`);
    built = b.imageExists(IMAGE);
    t.ok(built, `${IMAGE} built`);
    const size = b.must(['images', '--format', '{{.Size}}', IMAGE]);
    timings.push(`image ${size} (base ${b.must(['images', '--format', '{{.Size}}', base])})`);
  });

  await t.test('the image: user, entrypoint, and minimesh running in it', async (t) => {
    if (!built) return t.fail('no image');
    const t0 = Date.now();
    const config = b.imageConfig(IMAGE) ?? {};
    t.equal(config.User, `${PROXY_UID}:${PROXY_GID}`, 'runs as the proxy uid and gid by default');
    t.same(config.Entrypoint, ['minimesh'], 'the entrypoint is minimesh');
    t.equal(config.WorkingDir, '/opt/minimesh');

    b.removeContainer(CONTAINER);
    const c = b.must(['from', '--name', CONTAINER, IMAGE]);
    t.teardown(() => void b.sync(['rm', c]));
    const run = (args: readonly string[]): string => b.must(['run', '--isolation', 'chroot', c, '--', ...args]);

    t.equal(run(['minimesh', 'version']), `minimesh ${MINIMESH_VERSION}`, 'minimesh is on PATH and knows its version');
    t.equal(run(['id', '-u']), String(PROXY_UID), 'commands run as uid 1337');
    t.match(run(['sh', '-c', 'command -v iptables-restore']), /iptables-restore$/, 'iptables-restore is there for the init container');
    const addon = run(['node', '--input-type=module', '-e', "const m = await import('/opt/minimesh/proxy/dist/src/capture/original-dst.js'); console.log(m.originalDstAvailable())"]);
    t.equal(addon.split('\n').pop(), 'true', 'the SO_ORIGINAL_DST addon was built and loads');

    const pod = { metadata: { name: 'image-test', namespace: 'default' }, spec: { containers: [{ name: 'app', image: 'app' }] } };
    const initArgs = buildInitContainer(pod, DEFAULT_INJECT_OPTIONS).args ?? [];
    t.equal(initArgs[0], 'iptables', "the init container's command");
    const rules = run(['minimesh', ...initArgs, '--dry-run']);
    t.match(rules, /^-N ISTIO_OUTPUT$/m, 'the ISTIO_OUTPUT chain');
    t.match(rules, /^-N ISTIO_INBOUND$/m, 'the ISTIO_INBOUND chain');
    t.match(rules, new RegExp(`^-A ISTIO_REDIRECT -p tcp -j REDIRECT --to-ports ${PORTS.outboundCapture}$`, 'm'), 'outbound to 15001');
    t.match(rules, new RegExp(`^-A ISTIO_IN_REDIRECT -p tcp -j REDIRECT --to-ports ${PORTS.inboundCapture}$`, 'm'), 'inbound to 15006');
    t.match(rules, new RegExp(`^-A ISTIO_OUTPUT -m owner --uid-owner ${PROXY_UID} -j RETURN$`, 'm'), "the proxy's own traffic is not captured");
    t.match(rules, /^-A OUTPUT -j ISTIO_OUTPUT$/m);
    t.match(rules, /^-A PREROUTING -p tcp -j ISTIO_INBOUND$/m);

    await t.test('minimesh proxy in the image carries a request from the host', async (t) => {
      const upstream = await startUpstream();
      t.teardown(upstream.close);
      const ports = { listener: await freePort(), admin: await freePort(), upstream: upstream.port };
      const dir = mkdtempSync(join(tmpdir(), 'minimesh-image-test-'));
      t.teardown(() => rmSync(dir, { recursive: true, force: true }));
      writeFileSync(join(dir, 'bootstrap.json'), staticBootstrap(ports));
      b.must(['copy', c, join(dir, 'bootstrap.json'), BOOTSTRAP_IN_IMAGE]);

      const proxy = startBackground('buildah', ['run', '--isolation', 'chroot', c, '--', 'minimesh', 'proxy', '--bootstrap', BOOTSTRAP_IN_IMAGE], b.env);
      t.teardown(() => proxy.stop());
      await waitForOk(`http://127.0.0.1:${ports.admin}/ready`, proxy, 60_000);
      const info = (await (await fetch(`http://127.0.0.1:${ports.admin}/server_info`)).json()) as { node?: { id?: string } };
      t.equal(info.node?.id, PROXY_NODE_ID, "the admin API serves the bootstrap's node");

      const res = await fetch(`http://127.0.0.1:${ports.listener}/through/the/image`);
      t.equal(res.status, 200);
      t.equal(await res.text(), UPSTREAM_BODY, "the upstream's answer came back through the proxy");
      t.equal(res.headers.get('server'), 'istio-envoy', 'answered by the proxy (server_name)');
      t.equal(upstream.seen.length, 1, 'the upstream got one request');
      t.equal(upstream.seen[0]?.url, '/through/the/image');
      t.ok(upstream.seen[0]?.headers['x-request-id'], 'with the x-request-id the proxy adds');
      await proxy.stop();
      t.ok(proxy.exited(), 'the proxy stopped on SIGTERM');
    });
    timings.push(`runs ${secondsSince(t0)} s`);
  });

  t.comment(`timings: ${timings.join(', ')}`);
  progress(`done: ${timings.join(', ')}`);
}
