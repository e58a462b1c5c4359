/**
 * Real interception, end to end: two pods as network namespaces, iptables installed by
 * `minimesh iptables`, apps as uid 1000, sidecars as uid 1337. The client app runs a plain
 * curl (no proxy settings) and the capture does the rest.
 *
 * Needs root, iproute2, iptables, util-linux (setpriv), curl. Without them it says why and
 * skips; under CI=true a skip is a failure, because CI has them.
 */
import t from 'tap';
import { join } from 'node:path';
import { INJECTOR_ROOT } from './helpers/golden.js';
import { APP_UID, cannotRunNetns, inPod, NetnsTopology, PROXY_UID, waitFor, type NetnsPod } from './netns/netns-pods.js';
import { staticBootstrapSource, type SidecarConfigSource } from './netns/sidecar-config.js';

const REPO = join(INJECTOR_ROOT, '..');
const MINIMESH = join(REPO, 'packages', 'cli', 'bin', 'minimesh.js');
const ECHO_APP = join(INJECTOR_ROOT, 'dist', 'test', 'netns', 'echo-app.js');
/** The port the client's rules never capture (-o), and a TCP port (tcp_ports in the config). */
const EXCLUDED_PORT = 9090;
const UNKNOWN_PORT = 8081;

const configSource: SidecarConfigSource = staticBootstrapSource;

const why = cannotRunNetns();
if (why !== undefined) {
  if (process.env.CI === 'true') {
    t.fail(`the interception test must run in CI, but: ${why}`);
  } else {
    t.comment(`skipping the interception test: ${why}`);
    t.pass('skipped (not CI)');
  }
} else {
  t.test('interception in network namespaces', { timeout: 90_000 }, async (t) => {
    const topo = new NetnsTopology();
    t.teardown(() => topo.destroy());
    topo.create();
    const { client, echo } = topo;
    const node = process.execPath;

    const iptables = (pod: NetnsPod, extra: string[]): string => {
      const r = inPod(pod, undefined, [node, MINIMESH, 'iptables', '-p', '15001', '-z', '15006', '-u', '1337', '-m', 'REDIRECT', '-i', '*', '-x', '', '-b', '*', '-d', '15090,15021,15020', ...extra]);
      if (r.code !== 0) throw new Error(`minimesh iptables in ${pod.name}: ${r.stderr}`);
      return r.stdout;
    };
    // The init containers: rules first, as in a pod.
    iptables(client, ['-o', String(EXCLUDED_PORT)]);
    iptables(echo, []);
    t.match(inPod(client, undefined, ['iptables', '-t', 'nat', '-S', 'ISTIO_OUTPUT']).stdout, /--dport 9090 -j RETURN/, 'client rules installed');

    topo.start(echo, APP_UID, [node, ECHO_APP, '80', String(EXCLUDED_PORT), String(UNKNOWN_PORT)]);
    for (const pod of [client, echo]) topo.start(pod, PROXY_UID, [node, MINIMESH, 'proxy', ...configSource.sidecarArgs(topo, pod)]);

    const ready = (pod: NetnsPod): boolean => inPod(pod, undefined, ['curl', '-sf', '-o', '/dev/null', 'http://127.0.0.1:15021/healthz/ready']).code === 0;
    try {
      await waitFor('both sidecars ready', () => ready(client) && ready(echo));
      await waitFor('the echo app', () => inPod(echo, undefined, ['curl', '-sf', '-o', '/dev/null', `http://127.0.0.1:${UNKNOWN_PORT}/`]).code === 0);
    } catch (e) {
      t.comment(topo.logs.join('\n'));
      throw e;
    }

    const stats = (pod: NetnsPod): Map<string, number> => {
      const m = new Map<string, number>();
      for (const line of inPod(pod, undefined, ['curl', '-s', 'http://127.0.0.1:15000/stats']).stdout.split('\n')) {
        const i = line.lastIndexOf(': ');
        if (i > 0) m.set(line.slice(0, i), Number(line.slice(i + 2)));
      }
      return m;
    };
    const stat = (pod: NetnsPod, name: string): number => stats(pod).get(name) ?? 0;
    const OUT = 'cluster.outbound|80||echo.default.svc.cluster.local.upstream_rq_total';
    const IN = 'cluster.inbound|80||.upstream_cx_total';
    const PASS = 'cluster.PassthroughCluster.upstream_cx_total';
    /** curl from the client pod as `uid`: headers and body. */
    const curl = (uid: number, url: string): { code: number; head: string; body: string } => {
      const r = inPod(client, uid, ['curl', '-s', '-i', '--max-time', '5', url]);
      const [head, ...rest] = r.stdout.split('\r\n\r\n');
      return { code: r.code, head: head ?? '', body: rest.join('\r\n\r\n') };
    };

    await t.test('the app curl is captured: client sidecar outbound, echo sidecar inbound', async (t) => {
      const out0 = stat(client, OUT);
      const in0 = stat(echo, IN);
      const r = curl(APP_UID, `http://${echo.ip}:80/`);
      t.equal(r.code, 0, 'curl succeeded');
      t.match(r.head, /^HTTP\/1\.1 200/, '200 OK');
      t.match(r.head, /x-envoy-upstream-service-time: \d+/i, 'the client sidecar handled it (x-envoy-upstream-service-time)');
      t.match(JSON.parse(r.body), { port: 80, peer: '127.0.0.6' }, 'the echo app was reached through its sidecar (from 127.0.0.6)');
      t.equal(stat(client, OUT), out0 + 1, 'client sidecar counted it outbound');
      t.equal(stat(echo, IN), in0 + 1, 'echo sidecar counted it inbound');
    });

    await t.test('a connection made as uid 1337 is not captured', async (t) => {
      const out0 = stat(client, OUT);
      const r = curl(PROXY_UID, `http://${echo.ip}:80/`);
      t.match(r.head, /^HTTP\/1\.1 200/);
      t.notMatch(r.head, /x-envoy-upstream-service-time/i, 'no client sidecar on the way');
      t.equal(stat(client, OUT), out0, 'client sidecar did not see it');
    });

    await t.test('an excluded outbound port is not captured', async (t) => {
      const out0 = stat(client, OUT);
      const pass0 = stat(client, PASS);
      const r = curl(APP_UID, `http://${echo.ip}:${EXCLUDED_PORT}/`);
      t.match(r.head, /^HTTP\/1\.1 200/);
      t.notMatch(r.head, /x-envoy-upstream-service-time/i);
      t.equal(stat(client, OUT) + stat(client, PASS), out0 + pass0, 'client sidecar did not see it');
      t.match(JSON.parse(r.body), { port: EXCLUDED_PORT, peer: '127.0.0.6' }, 'still captured inbound by the echo pod');
    });

    await t.test('an address the mesh does not know goes through PassthroughCluster', async (t) => {
      const pass0 = stat(client, PASS);
      const r = curl(APP_UID, `http://${topo.echoUnknownIp}:${UNKNOWN_PORT}/`);
      t.match(r.head, /^HTTP\/1\.1 200/);
      t.notMatch(r.head, /x-envoy-upstream-service-time/i, 'passed through as TCP, not routed');
      t.equal(stat(client, PASS), pass0 + 1, 'client sidecar counted PassthroughCluster');
      t.match(JSON.parse(r.body), { port: UNKNOWN_PORT });
    });

    await t.test('--cleanup restores direct traffic, and is idempotent', async (t) => {
      for (const pod of [client, echo]) {
        t.equal(inPod(pod, undefined, [node, MINIMESH, 'iptables', '--cleanup']).code, 0);
        t.match(inPod(pod, undefined, [node, MINIMESH, 'iptables', '--cleanup']).stdout, /nothing to remove/, `${pod.name}: second cleanup is a no-op`);
        t.notMatch(inPod(pod, undefined, ['iptables', '-t', 'nat', '-S']).stdout, /ISTIO/, `${pod.name}: no ISTIO rules left`);
      }
      const out0 = stat(client, OUT);
      const r = curl(APP_UID, `http://${echo.ip}:80/`);
      t.match(r.head, /^HTTP\/1\.1 200/);
      t.notMatch(r.head, /x-envoy-upstream-service-time/i, 'direct: no sidecar');
      t.not(JSON.parse(r.body).peer, '127.0.0.6', 'the echo app sees the client itself');
      t.equal(stat(client, OUT), out0);
    });
  });
}
