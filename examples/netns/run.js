#!/usr/bin/env node
// npm run demo:netns (as root): the echo lab with real capture in network namespaces.
// Two "pods" (client, echo), rules by `minimesh iptables`, sidecars as uid 1337 taking their
// config from `minimesh control-plane --capture` (the echo lab's YAML) in a third namespace,
// apps as uid 1000; prints the chain one plain `curl` takes, then cleans everything up.
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { APP_UID, PROXY_UID, cannotRunNetns, inPod, NetnsTopology, waitFor } from '../../injector/dist/src/netns/netns-pods.js';
import { ControlPlaneSource, CONTROL_PLANE_DEBUG_PORT, HEALTH_PORT, LAB, labHosts, MINIMESH } from '../../injector/dist/src/netns/sidecar-config.js';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const ECHO_APP = join(REPO, 'injector', 'dist', 'src', 'netns', 'echo-app.js');
const node = process.execPath;

const why = cannotRunNetns();
if (why) {
  console.error(`demo:netns cannot run here: ${why}`);
  process.exit(1);
}
const topo = new NetnsTopology('demo');
const source = new ControlPlaneSource();
const show = (title, text) => console.log(`\n== ${title}\n${text.trimEnd()}`);
const cleanup = () => topo.destroy();
process.on('SIGINT', () => { cleanup(); process.exit(130); });
try {
  topo.create();
  const { client, echo, controlPlane } = topo;
  for (const pod of [client, echo]) {
    inPod(pod, undefined, [node, MINIMESH, 'iptables', '-p', '15001', '-z', '15006', '-u', '1337', '-m', 'REDIRECT', '-i', '*', '-x', '', '-b', '*', '-d', '15090,15021,15020']);
  }
  topo.addClusterIpRoute(client, '10.96.0.0/16');
  topo.setHosts(client, labHosts());
  await source.start(topo);
  topo.start(echo, APP_UID, [node, ECHO_APP, String(LAB.targetPort)]);
  for (const pod of [client, echo]) {
    const s = source.sidecar(topo, pod);
    topo.start(pod, PROXY_UID, [node, MINIMESH, 'proxy', ...s.args], s.env);
  }
  const ready = (pod) => inPod(pod, undefined, ['curl', '-sf', '-o', '/dev/null', `http://127.0.0.1:${HEALTH_PORT}/healthz/ready`]).code === 0;
  await waitFor('sidecars', () => ready(client) && ready(echo), 20_000);
  const synced = () => source.syncz(topo).filter((e) => Object.values(e.types).every((t) => t.state === 'SYNCED')).length === 2;
  await waitFor('both sidecars SYNCED', synced).catch(() => undefined);

  const cfg = source.sidecar(topo, client);
  show(`0. control plane (${controlPlane.ns}): minimesh control-plane --config-dir ${source.configDir} --capture`,
    `config: examples/echo/k8s/*.yaml, echo-service with clusterIP ${LAB.clusterIP}, the two pods with their namespace IPs\n` +
    `client sidecar: POD_NAME=${cfg.env.POD_NAME} POD_NAMESPACE=${cfg.env.POD_NAMESPACE} INSTANCE_IP=${cfg.env.INSTANCE_IP} ISTIO_METAJSON_LABELS='${cfg.env.ISTIO_METAJSON_LABELS}' minimesh proxy ${cfg.args.join(' ')}`);
  show(`   minimesh proxy-status --control-plane 127.0.0.1:${CONTROL_PLANE_DEBUG_PORT}`, source.proxyStatus(topo).stdout);
  show(`client pod (${client.ns}, ${client.ip}): iptables -t nat -S`, inPod(client, undefined, ['iptables', '-t', 'nat', '-S']).stdout);
  show(`1. client app (uid ${APP_UID}) runs: curl -si http://${LAB.host}/   (hosts file: ${LAB.host} -> ${LAB.clusterIP})`, inPod(client, APP_UID, ['curl', '-si', `http://${LAB.host}/`]).stdout);
  show('2. client pod OUTPUT -> ISTIO_OUTPUT -> ISTIO_REDIRECT (REDIRECT to 15001): packet counters',
    inPod(client, undefined, ['iptables', '-t', 'nat', '-L', 'ISTIO_OUTPUT', '-v', '-n']).stdout + inPod(client, undefined, ['iptables', '-t', 'nat', '-L', 'ISTIO_REDIRECT', '-v', '-n']).stdout);
  show(`3. client sidecar virtualOutbound :15001 (original destination ${LAB.clusterIP}:80, Host -> route -> outbound|80||${LAB.host} -> endpoint ${echo.ip}:${LAB.targetPort}): /stats`,
    inPod(client, undefined, ['curl', '-s', 'http://127.0.0.1:15000/stats']).stdout.split('\n').filter((l) => /outbound\|80.*(upstream_rq_total|upstream_cx_total)|downstream_rq_total/.test(l)).join('\n'));
  show(`4. echo pod (${echo.ns}) PREROUTING -> ISTIO_INBOUND -> ISTIO_IN_REDIRECT (REDIRECT to 15006): packet counters`,
    inPod(echo, undefined, ['iptables', '-t', 'nat', '-L', 'ISTIO_IN_REDIRECT', '-v', '-n']).stdout);
  show(`5. echo sidecar virtualInbound :15006 -> 127.0.0.1:${LAB.targetPort} from 127.0.0.6 (inbound|${LAB.targetPort}||): /stats`,
    inPod(echo, undefined, ['curl', '-s', 'http://127.0.0.1:15000/stats']).stdout.split('\n').filter((l) => new RegExp(`inbound\\|${LAB.targetPort}\\|\\|\\.upstream_cx_(total|active)`).test(l)).join('\n'));
  show(`6. a curl as uid ${PROXY_UID} (the proxy's uid) is never captured: straight to the echo pod (${echo.ip}:${LAB.targetPort})`,
    inPod(client, PROXY_UID, ['curl', '-si', `http://${echo.ip}:${LAB.targetPort}/`]).stdout);
  const ct = inPod(client, undefined, ['sh', '-c', `command -v conntrack >/dev/null && conntrack -L -p tcp --orig-dst ${LAB.clusterIP} 2>/dev/null | head -5 || echo "(conntrack not installed)"`]);
  show('conntrack in the client pod (the NAT that SO_ORIGINAL_DST reads back)', ct.stdout);
} catch (e) {
  console.error(`demo failed: ${e.message}\n${topo.logs.join('\n')}`);
  process.exitCode = 1;
} finally {
  cleanup();
  console.log('\n(namespaces removed)');
}
