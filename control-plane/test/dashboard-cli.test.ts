/**
 * `minimesh dashboard`: prints the dashboard's URL when it answers, says clearly when it does
 * not, refuses dashboards minimesh does not install, and with --kube port-forwards to the
 * control plane pod through a fake API server that speaks the port-forward WebSocket protocol.
 */
import t from 'tap';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { WebSocketServer } from 'ws';
import { dashboardMain, parseAddress, type DashboardIo } from '../src/cli/dashboard.js';
import { echoGraph, startStandIn } from './helpers/dashboard-stand-in.js';

interface Captured extends DashboardIo {
  stdout: string;
  stderr: string;
  opened: string[];
  stop: () => void;
  waiting: Promise<void>;
}

function capture(): Captured {
  let stop!: () => void;
  let signalWaiting!: () => void;
  const waiting = new Promise<void>((r) => (signalWaiting = r));
  const stopped = new Promise<void>((r) => (stop = r));
  const c: Captured = {
    stdout: '',
    stderr: '',
    opened: [],
    stop: () => stop(),
    waiting,
    out: (s) => void (c.stdout += s),
    err: (s) => void (c.stderr += s),
    openBrowser: (url) => void c.opened.push(url),
    interrupted: () => {
      signalWaiting();
      return stopped;
    },
  };
  return c;
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

t.test('addresses', async (t) => {
  t.same(parseAddress('127.0.0.1:20001'), { host: '127.0.0.1', port: 20001 });
  t.same(parseAddress('http://localhost:8080/'), { host: 'localhost', port: 8080 });
  t.same(parseAddress(':9000'), { host: '127.0.0.1', port: 9000 });
  t.same(parseAddress('9000'), { host: '127.0.0.1', port: 9000 });
  t.same(parseAddress('[::1]:20001'), { host: '::1', port: 20001 });
  t.same(parseAddress('dash.local'), { host: 'dash.local', port: 20001 });
});

t.test('prints the URL of a dashboard that answers, and opens a browser unless --browser=false', async (t) => {
  const server = await startStandIn(echoGraph('1.00'));
  t.teardown(() => server.close());
  const url = `http://127.0.0.1:${server.port}/`;
  for (const name of [[], ['minimesh'], ['kiali']]) {
    const io = capture();
    t.equal(await dashboardMain([...name, '--address', `127.0.0.1:${server.port}`], io), 0, `dashboard ${name.join('')}`);
    t.equal(io.stdout, `${url}\n`);
    t.same(io.opened, [url], 'the browser opens the page');
  }
  const io = capture();
  t.equal(await dashboardMain(['--address', url, '--browser=false'], io), 0);
  t.equal(io.stdout, `${url}\n`);
  t.same(io.opened, [], '--browser=false: no browser');
  t.ok(server.requests.includes('GET /'), 'it checked that the page answers');
});

t.test('says clearly when the dashboard does not answer', async (t) => {
  const port = await freePort();
  const io = capture();
  t.equal(await dashboardMain(['--address', `127.0.0.1:${port}`], io), 1);
  t.equal(io.stdout, '', 'no URL printed');
  t.match(io.stderr, `the dashboard at http://127.0.0.1:${port}/ does not answer (ECONNREFUSED)`);
  t.match(io.stderr, /Is the control plane running\?/);
  t.same(io.opened, []);
});

t.test('other dashboards are not installed by minimesh; unknown names and flags are usage errors', async (t) => {
  for (const name of ['prometheus', 'grafana']) {
    const io = capture();
    t.equal(await dashboardMain([name], io), 1, name);
    t.match(io.stderr, `${name} is not installed by minimesh yet`);
  }
  const io = capture();
  t.equal(await dashboardMain(['nope'], io), 2);
  t.match(io.stderr, /unknown dashboard "nope"/);
  t.equal(await dashboardMain(['--bogus'], capture()), 2);
  const help = capture();
  t.equal(await dashboardMain(['--help'], help), 0);
  t.match(help.stdout, /Usage: minimesh dashboard \[minimesh\|kiali\]/);
});

/** A fake API server: lists pods, and port-forwards (v4.channel.k8s.io) to a local port. */
async function fakeApi(t: { teardown(fn: () => unknown): void }, pods: unknown[], forwardTo: number) {
  const seen: string[] = [];
  const server = http.createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    const u = new URL(req.url ?? '/', 'http://x');
    if (u.pathname === '/api/v1/namespaces/istio-system/pods' && u.searchParams.get('labelSelector') === 'app=istiod') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ kind: 'PodList', items: pods }));
      return;
    }
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ kind: 'Status', code: 404 }));
  });
  const wss = new WebSocketServer({ noServer: true });
  server.on('upgrade', (req, socket, head) => {
    seen.push(`WS ${req.url}`);
    if (!/^\/api\/v1\/namespaces\/istio-system\/pods\/istiod-7d4f-abcde\/portforward\?ports=20001$/.test(req.url ?? '')) return socket.destroy();
    wss.handleUpgrade(req, socket, head, (ws) => {
      const port = Buffer.from([forwardTo & 0xff, forwardTo >> 8]);
      ws.send(Buffer.concat([Buffer.from([0]), port]));
      ws.send(Buffer.concat([Buffer.from([1]), port]));
      const target = net.connect(forwardTo, '127.0.0.1');
      target.on('data', (d) => ws.send(Buffer.concat([Buffer.from([0]), d])));
      target.on('close', () => ws.close());
      target.on('error', () => ws.close());
      ws.on('message', (m: Buffer) => {
        if (m[0] === 0 && m.length > 1) target.write(m.subarray(1));
      });
      ws.on('close', () => target.destroy());
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => {
    for (const c of wss.clients) c.terminate();
    server.closeAllConnections();
    return new Promise<void>((r) => server.close(() => r()));
  });
  const port = (server.address() as net.AddressInfo).port;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mm-kubeconfig-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const kubeconfig = path.join(dir, 'config');
  fs.writeFileSync(
    kubeconfig,
    `apiVersion: v1
kind: Config
clusters: [{ name: fake, cluster: { server: "http://127.0.0.1:${port}", insecure-skip-tls-verify: true } }]
users: [{ name: me, user: { token: abc } }]
contexts: [{ name: lab, context: { cluster: fake, user: me } }, { name: other, context: { cluster: fake, user: me } }]
current-context: other
`,
  );
  return { seen, kubeconfig };
}

const RUNNING = { metadata: { name: 'istiod-7d4f-abcde' }, status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] } };

t.test('--kube port-forwards to the control plane pod until Ctrl-C', async (t) => {
  const dash = await startStandIn(echoGraph('1.00'));
  t.teardown(() => dash.close());
  const api = await fakeApi(t, [{ metadata: { name: 'istiod-old' }, status: { phase: 'Pending' } }, RUNNING], dash.port);
  const io = capture();
  const done = dashboardMain(['--context', 'lab', '--kubeconfig', api.kubeconfig, '--port', '0', '--browser=false'], io);
  await Promise.race([io.waiting, done]);
  const m = /^http:\/\/127\.0\.0\.1:(\d+)\/\n$/.exec(io.stdout);
  t.ok(m, `prints the local URL (${JSON.stringify(io.stdout)} ${io.stderr})`);
  t.match(io.stderr, 'to pod istio-system/istiod-7d4f-abcde:20001');
  const page = await fetch(`http://127.0.0.1:${m?.[1]}/`).then((r) => r.text());
  t.match(page, '<title>minimesh — mesh graph</title>', 'the page arrives through the forward');
  t.ok(api.seen.some((s) => s.startsWith('WS /api/v1/namespaces/istio-system/pods/istiod-7d4f-abcde/portforward')), 'through the API server');
  io.stop();
  t.equal(await done, 0, 'exits 0 after Ctrl-C');
  await t.rejects(fetch(`http://127.0.0.1:${m?.[1]}/`), 'the local port is closed');
});

t.test('--kube with no control plane pod, or an unknown context', async (t) => {
  const api = await fakeApi(t, [], 1);
  const io = capture();
  t.equal(await dashboardMain(['--kube', '--kubeconfig', api.kubeconfig, '--port', '0'], io), 1);
  t.match(io.stderr, 'no running pod labelled app=istiod in namespace istio-system');
  const io2 = capture();
  t.equal(await dashboardMain(['--context', 'nope', '--kubeconfig', api.kubeconfig], io2), 1);
  t.match(io2.stderr, 'no context "nope"');
});
