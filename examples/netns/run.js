#!/usr/bin/env node
// npm run demo:netns (as root): the echo lab with real capture in network namespaces.
// Two "pods" (client, echo), rules by `minimesh iptables`, sidecars as uid 1337, apps as uid 1000;
// prints the chain one plain `curl` takes, then cleans everything up.
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { APP_UID, PROXY_UID, cannotRunNetns, inPod, NetnsTopology, waitFor } from '../../injector/dist/test/netns/netns-pods.js';
import { staticBootstrapSource } from '../../injector/dist/test/netns/sidecar-config.js';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const MINIMESH = join(REPO, 'packages', 'cli', 'bin', 'minimesh.js');
const ECHO_APP = join(REPO, 'injector', 'dist', 'test', 'netns', 'echo-app.js');
const node = process.execPath;

const why = cannotRunNetns();
if (why) {
  console.error(`demo:netns cannot run here: ${why}`);
  process.exit(1);
}
const topo = new NetnsTopology('demo');
const show = (title, text) => console.log(`\n== ${title}\n${text.trimEnd()}`);
const cleanup = () => topo.destroy();
process.on('SIGINT', () => { cleanup(); process.exit(130); });
try {
  topo.create();
  const { client, echo } = topo;
  for (const pod of [client, echo]) {
    inPod(pod, undefined, [node, MINIMESH, 'iptables', '-p', '15001', '-z', '15006', '-u', '1337', '-m', 'REDIRECT', '-i', '*', '-x', '', '-b', '*', '-d', '15090,15021,15020']);
  }
  topo.start(echo, APP_UID, [node, ECHO_APP, '80']);
  for (const pod of [client, echo]) topo.start(pod, PROXY_UID, [node, MINIMESH, 'proxy', ...staticBootstrapSource.sidecarArgs(topo, pod)]);
  const ready = (pod) => inPod(pod, undefined, ['curl', '-sf', '-o', '/dev/null', 'http://127.0.0.1:15021/healthz/ready']).code === 0;
  await waitFor('sidecars', () => ready(client) && ready(echo));
  await new Promise((r) => setTimeout(r, 300));

  show(`client pod (${client.ns}, ${client.ip}): iptables -t nat -S`, inPod(client, undefined, ['iptables', '-t', 'nat', '-S']).stdout);
  show(`1. client app (uid ${APP_UID}) runs: curl -si http://${echo.ip}:80/`, inPod(client, APP_UID, ['curl', '-si', `http://${echo.ip}:80/`]).stdout);
  show('2. client pod OUTPUT -> ISTIO_OUTPUT -> ISTIO_REDIRECT (REDIRECT to 15001): packet counters',
    inPod(client, undefined, ['iptables', '-t', 'nat', '-L', 'ISTIO_OUTPUT', '-v', '-n']).stdout + inPod(client, undefined, ['iptables', '-t', 'nat', '-L', 'ISTIO_REDIRECT', '-v', '-n']).stdout);
  show('3. client sidecar :15001 (original destination -> route -> cluster): /stats',
    inPod(client, undefined, ['curl', '-s', 'http://127.0.0.1:15000/stats']).stdout.split('\n').filter((l) => /outbound\|80.*(upstream_rq_total|upstream_cx_total)|downstream_rq_total/.test(l)).join('\n'));
  show(`4. echo pod (${echo.ns}) PREROUTING -> ISTIO_INBOUND -> ISTIO_IN_REDIRECT (REDIRECT to 15006): packet counters`,
    inPod(echo, undefined, ['iptables', '-t', 'nat', '-L', 'ISTIO_IN_REDIRECT', '-v', '-n']).stdout);
  show('5. echo sidecar :15006 -> 127.0.0.1:80 from 127.0.0.6 (inbound|80||): /stats',
    inPod(echo, undefined, ['curl', '-s', 'http://127.0.0.1:15000/stats']).stdout.split('\n').filter((l) => /inbound\|80\|\|\.upstream_cx_(total|active)/.test(l)).join('\n'));
  show(`6. the same curl as uid ${PROXY_UID} (the proxy's uid) is never captured`, inPod(client, PROXY_UID, ['curl', '-si', `http://${echo.ip}:80/`]).stdout);
  const ct = inPod(client, undefined, ['sh', '-c', 'command -v conntrack >/dev/null && conntrack -L -p tcp 2>/dev/null | head -5 || echo "(conntrack not installed)"']);
  show('conntrack in the client pod (the NAT that SO_ORIGINAL_DST reads back)', ct.stdout);
} catch (e) {
  console.error(`demo failed: ${e.message}\n${topo.logs.join('\n')}`);
  process.exitCode = 1;
} finally {
  cleanup();
  console.log('\n(namespaces removed)');
}
