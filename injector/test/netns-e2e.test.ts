/**
 * Real interception, end to end: two pods as network namespaces, iptables installed by
 * `minimesh iptables`, apps as uid 1000, sidecars as uid 1337, and minimesh's control plane in
 * a third namespace giving them the echo lab's config over xDS (`--capture`: Istio's
 * virtualOutbound/virtualInbound listeners). The client app runs a plain curl (no proxy
 * settings) to the echo service and the capture does the rest. The sidecars get their
 * workload certificates from the control plane and speak mutual TLS; STRICT and an
 * AuthorizationPolicy DENY are pushed and enforced (helpers/netns-mtls-checks.ts).
 *
 * Needs root, iproute2, iptables, util-linux (setpriv), curl. Without them it says why and
 * skips; under CI=true a skip is a failure, because CI has them.
 */
import t from 'tap';
import { APP_UID, cannotRunNetns, inPod, NetnsTopology, PROXY_UID, waitFor, type NetnsPod } from '../src/netns/netns-pods.js';
import { ControlPlaneSource, HEALTH_PORT, LAB, labHosts, MINIMESH, podIdentity, START_TIMEOUT_MS } from '../src/netns/sidecar-config.js';
import { INJECTOR_ROOT } from './helpers/golden.js';
import { join } from 'node:path';
import { mtlsChecks, waitForCertificates } from './helpers/netns-mtls-checks.js';

const ECHO_APP = join(INJECTOR_ROOT, 'dist', 'src', 'netns', 'echo-app.js');
/** The port the client's rules never capture (-o). */
const EXCLUDED_PORT = 9090;
/** A port on an address no service has: PassthroughCluster. */
const UNKNOWN_PORT = 8081;
/** An app port bound to 127.0.0.1 only in the echo pod: must stay private. */
const LOOPBACK_ONLY_PORT = 8082;

const why = cannotRunNetns();
if (why !== undefined) {
  if (process.env.CI === 'true') {
    t.fail(`the interception test must run in CI, but: ${why}`);
  } else {
    t.comment(`skipping the interception test: ${why}`);
    t.pass('skipped (not CI)');
  }
} else {
  // Above the runner's 120 s per file: on a loaded machine the start-up waits may take long.
  t.setTimeout(300_000);
  t.test('interception in network namespaces, config from the control plane', { timeout: 240_000 }, async (t) => {
    const topo = new NetnsTopology();
    t.teardown(() => topo.destroy());
    topo.create();
    const { client, echo } = topo;
    const node = process.execPath;
    const source = new ControlPlaneSource();
    const echoUrl = `http://${LAB.clusterIP}:${LAB.servicePort}/`;

    const iptables = (pod: NetnsPod, extra: string[]): string => {
      const r = inPod(pod, undefined, [node, MINIMESH, 'iptables', '-p', '15001', '-z', '15006', '-u', '1337', '-m', 'REDIRECT', '-i', '*', '-x', '', '-b', '*', '-d', '15090,15021,15020', ...extra]);
      if (r.code !== 0) throw new Error(`minimesh iptables in ${pod.name}: ${r.stderr}`);
      return r.stdout;
    };
    // The init containers: rules first, as in a pod.
    iptables(client, ['-o', String(EXCLUDED_PORT)]);
    iptables(echo, []);
    t.match(inPod(client, undefined, ['iptables', '-t', 'nat', '-S', 'ISTIO_OUTPUT']).stdout, /--dport 9090 -j RETURN/, 'client rules installed');
    // What the cluster gives a pod: a route to the service range and DNS names for the service.
    topo.addClusterIpRoute(client, '10.96.0.0/16');
    topo.setHosts(client, labHosts());

    const ready = (pod: NetnsPod): boolean => inPod(pod, undefined, ['curl', '-sf', '--max-time', '2', '-o', '/dev/null', `http://127.0.0.1:${HEALTH_PORT}/healthz/ready`]).code === 0;
    try {
      await source.start(topo);
      topo.start(echo, APP_UID, [node, ECHO_APP, String(LAB.targetPort), String(LAB.tcp.targetPort), String(LAB.auto.targetPort), String(EXCLUDED_PORT), String(UNKNOWN_PORT), `127.0.0.1:${LOOPBACK_ONLY_PORT}`]);
      for (const pod of [client, echo]) {
        const s = source.sidecar(topo, pod);
        topo.start(pod, PROXY_UID, [node, MINIMESH, 'proxy', ...s.args], s.env);
      }
      // Progress, not a fixed time: a process that died ends the wait; the deadline is a backstop.
      await waitFor('both sidecars ready (first config from the control plane applied)', () => ready(client) && ready(echo), START_TIMEOUT_MS, () => topo.exited());
      await waitFor('the echo app', () => inPod(echo, undefined, ['curl', '-sf', '--max-time', '2', '-o', '/dev/null', `http://127.0.0.1:${UNKNOWN_PORT}/`]).code === 0, START_TIMEOUT_MS, () => topo.exited());
      await waitForCertificates(topo);
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
    const OUT = `cluster.outbound|${LAB.servicePort}||${LAB.host}.upstream_rq_total`;
    const IN = `cluster.inbound|${LAB.targetPort}||.upstream_rq_total`;
    const PASS = 'cluster.PassthroughCluster.upstream_cx_total';
    /** curl from the client pod as `uid`: headers and body. */
    const curl = (uid: number, url: string): { code: number; head: string; body: string } => {
      const r = inPod(client, uid, ['curl', '-s', '-i', '--max-time', '5', url]);
      const [head, ...rest] = r.stdout.split('\r\n\r\n');
      return { code: r.code, head: head ?? '', body: rest.join('\r\n\r\n') };
    };
    const json = (body: string): Record<string, unknown> => {
      try {
        return JSON.parse(body) as Record<string, unknown>;
      } catch {
        return { unparsable: body };
      }
    };

    await t.test('the control plane generated both sidecars\' config and both ACKed it', async (t) => {
      const names = [client, echo].map((p) => `${podIdentity(topo, p).podName}.${LAB.namespace}`);
      const synced = (): boolean => {
        const entries = source.syncz(topo);
        return names.every((n) => {
          const e = entries.find((x) => x.name === n);
          return e !== undefined && Object.values(e.types).every((ty) => ty.state === 'SYNCED');
        });
      };
      await waitFor('both sidecars SYNCED in /debug/syncz', synced).catch(() => undefined);
      const entries = source.syncz(topo);
      for (const n of names) {
        const e = entries.find((x) => x.name === n);
        t.ok(e, `${n} is connected`);
        if (e) t.same(Object.fromEntries(Object.entries(e.types).map(([k, v]) => [k, v.state])), { CDS: 'SYNCED', LDS: 'SYNCED', EDS: 'SYNCED', RDS: 'SYNCED' }, `${n}: every type SYNCED`);
      }
      const ps = source.proxyStatus(topo);
      t.equal(ps.code, 0, 'minimesh proxy-status ran');
      t.match(ps.stdout, /NAME\s+CLUSTER\s+CDS\s+LDS\s+EDS\s+RDS/, 'proxy-status table');
      for (const n of names) t.match(ps.stdout, new RegExp(`${n.replace(/\./g, '\\.')}\\s+\\S+\\s+SYNCED\\s+SYNCED\\s+SYNCED\\s+SYNCED`), `proxy-status: ${n} SYNCED`);
      const dump = inPod(client, undefined, ['curl', '-s', 'http://127.0.0.1:15000/config_dump']).stdout;
      t.match(dump, /"name": ?"virtualOutbound"/, 'the client sidecar runs the generated virtualOutbound listener');
      t.match(dump, /"name": ?"virtualInbound"/, 'and virtualInbound');
      t.match(dump, /echo-service\.client\.svc\.cluster\.local/, 'with the echo service in it');
    });

    await t.test('the app curl is captured: client sidecar outbound, echo sidecar inbound', async (t) => {
      const out0 = stat(client, OUT);
      const in0 = stat(echo, IN);
      const r = curl(APP_UID, echoUrl);
      t.equal(r.code, 0, `curl ${echoUrl} succeeded`);
      t.match(r.head, /^HTTP\/1\.1 200/, '200 OK');
      t.match(r.head, /x-envoy-upstream-service-time: \d+/i, 'the client sidecar handled it (x-envoy-upstream-service-time)');
      t.match(json(r.body), { port: LAB.targetPort, peer: '127.0.0.6' }, 'the echo app was reached on the targetPort through its sidecar (from 127.0.0.6)');
      t.equal(stat(client, OUT), out0 + 1, 'client sidecar counted it outbound');
      t.equal(stat(echo, IN), in0 + 1, 'echo sidecar counted it inbound');
    });

    await t.test('by service name (the pod\'s hosts file maps it to the cluster IP, as kube-dns would)', async (t) => {
      for (const name of [LAB.host, LAB.service]) {
        const out0 = stat(client, OUT);
        const r = curl(APP_UID, `http://${name}/`);
        t.match(r.head, /^HTTP\/1\.1 200/, `curl http://${name}/`);
        t.match(r.head, /x-envoy-upstream-service-time: \d+/i, 'routed by the client sidecar');
        t.match(json(r.body), { port: LAB.targetPort, peer: '127.0.0.6', host: name }, 'Host kept, echo reached through its sidecar');
        t.equal(stat(client, OUT), out0 + 1, 'counted outbound');
      }
      const r = inPod(client, APP_UID, ['curl', '-s', '-i', '--max-time', '5', '--resolve', `${LAB.host}:80:${LAB.clusterIP}`, `http://${LAB.host}/`]);
      t.match(r.stdout, /x-envoy-upstream-service-time: \d+/i, 'curl --resolve works the same');
      const unknown = inPod(client, APP_UID, ['curl', '-s', '-i', '--max-time', '5', '-H', 'Host: not-in-the-mesh.example', echoUrl]);
      t.match(unknown.stdout, /^HTTP\/1\.1 200/, 'a Host the mesh does not know, sent to the cluster IP: 200');
      t.match(unknown.stdout, /x-envoy-upstream-service-time: \d+/i, 'routed by the original destination (the cluster IP is among the service\'s domains)');
    });

    await t.test('a connection made as uid 1337 is not captured', async (t) => {
      const out0 = stat(client, OUT);
      const pass0 = stat(client, PASS);
      const r = curl(PROXY_UID, `http://${echo.ip}:${LAB.targetPort}/`);
      t.match(r.head, /^HTTP\/1\.1 200/);
      // The echo sidecar routes it inbound (server: istio-envoy); a client sidecar on the way would say `server: envoy`.
      t.match(r.head, /^server: istio-envoy\r?$/im, 'no client sidecar on the way');
      t.equal(stat(client, OUT) + stat(client, PASS), out0 + pass0, 'client sidecar did not see it');
      t.match(json(r.body), { port: LAB.targetPort, peer: '127.0.0.6' }, 'captured inbound by the echo pod only');
    });

    await t.test('an excluded outbound port is not captured', async (t) => {
      const out0 = stat(client, OUT);
      const pass0 = stat(client, PASS);
      const r = curl(APP_UID, `http://${echo.ip}:${EXCLUDED_PORT}/`);
      t.match(r.head, /^HTTP\/1\.1 200/);
      t.notMatch(r.head, /x-envoy-upstream-service-time/i);
      t.equal(stat(client, OUT) + stat(client, PASS), out0 + pass0, 'client sidecar did not see it');
      t.match(json(r.body), { port: EXCLUDED_PORT, peer: '127.0.0.6' }, 'still captured inbound by the echo pod');
    });

    await t.test('an address the mesh does not know goes through PassthroughCluster', async (t) => {
      const pass0 = stat(client, PASS);
      const r = curl(APP_UID, `http://${topo.echoUnknownIp}:${UNKNOWN_PORT}/`);
      t.match(r.head, /^HTTP\/1\.1 200/);
      t.notMatch(r.head, /x-envoy-upstream-service-time/i, 'passed through as TCP, not routed');
      t.equal(stat(client, PASS), pass0 + 1, 'client sidecar counted PassthroughCluster');
      t.match(json(r.body), { port: UNKNOWN_PORT });
    });

    await t.test("the echo pod's loopback-only ports stay private: its admin API and a 127.0.0.1 app", async (t) => {
      t.equal(inPod(echo, undefined, ['curl', '-sf', '-o', '/dev/null', `http://127.0.0.1:${LOOPBACK_ONLY_PORT}/`]).code, 0, 'the loopback-only app answers inside its pod');
      for (const uid of [APP_UID, PROXY_UID]) {
        const admin = curl(uid, `http://${echo.ip}:15000/stats`);
        t.notMatch(admin.head, /^HTTP/, `uid ${uid}: ${echo.ip}:15000 does not reach the echo sidecar's admin API`);
        t.notMatch(admin.body, /cluster\./, 'no stats leaked');
        const app = curl(uid, `http://${echo.ip}:${LOOPBACK_ONLY_PORT}/`);
        t.notMatch(app.head, /^HTTP/, `uid ${uid}: ${echo.ip}:${LOOPBACK_ONLY_PORT} does not reach an app bound to 127.0.0.1`);
      }
    });

    await t.test('half-close through the capture: write, shut down the write side, then read', async (t) => {
      // A raw client: sends a request, shuts down its write side, reads the answer.
      const script = `const c=require('net').connect({host:process.argv[1],port:+process.argv[2],allowHalfOpen:true},()=>c.end('GET / HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n'));let o='';c.on('data',d=>o+=d);c.on('end',()=>{process.stdout.write(o);c.destroy()});c.on('error',e=>{process.stdout.write('error '+e.message)});setTimeout(()=>{process.stdout.write(o);process.exit(0)},4000).unref()`;
      const raw = (ip: string, port: number): string => inPod(client, APP_UID, [node, '-e', script, ip, String(port)]).stdout;
      t.match(raw(echo.ip, EXCLUDED_PORT), /^HTTP\/1\.1 200[\s\S]*"port":9090/, 'inbound capture (echo sidecar, TCP) answers after the client FIN');
      t.match(raw(topo.echoUnknownIp, UNKNOWN_PORT), /^HTTP\/1\.1 200[\s\S]*"port":8081/, 'outbound PassthroughCluster (client sidecar, TCP) answers after the client FIN');
    });

    await mtlsChecks(t, { topo, source, excludedPort: EXCLUDED_PORT });

    await t.test('--cleanup restores direct traffic, and is idempotent', async (t) => {
      for (const pod of [client, echo]) {
        t.equal(inPod(pod, undefined, [node, MINIMESH, 'iptables', '--cleanup']).code, 0);
        t.match(inPod(pod, undefined, [node, MINIMESH, 'iptables', '--cleanup']).stdout, /nothing to remove/, `${pod.name}: second cleanup is a no-op`);
        t.notMatch(inPod(pod, undefined, ['iptables', '-t', 'nat', '-S']).stdout, /ISTIO/, `${pod.name}: no ISTIO rules left`);
      }
      const out0 = stat(client, OUT);
      const r = curl(APP_UID, `http://${echo.ip}:${LAB.targetPort}/`);
      t.match(r.head, /^HTTP\/1\.1 200/);
      t.notMatch(r.head, /x-envoy-upstream-service-time/i, 'direct: no sidecar');
      t.not(json(r.body).peer, '127.0.0.6', 'the echo app sees the client itself');
      t.equal(stat(client, OUT), out0);
    });
  });
}
