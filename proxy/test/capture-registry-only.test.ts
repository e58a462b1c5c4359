/**
 * Capture decisions for scoping and TCP routes: outboundTrafficPolicy REGISTRY_ONLY under
 * capture (`registry_only` in the capture metadata):
 * a TCP connection to a destination the config does not know is closed (Istio's
 * BlackHoleCluster, counted as upstream_cx_none_healthy), where ALLOW_ANY passes it through to
 * the original destination; and a `tcp` route's weighted clusters picked by weight. The
 * original destination is given (handleCapturedTo).
 */
import t from 'tap';
import net from 'node:net';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { handleCapturedTo, type CaptureHost } from '../src/capture/capture-connection.js';
import { ClusterStats } from '../src/observability/stats.js';

function fakeHost(registryOnly: boolean, blackHoleStats: ClusterStats): CaptureHost {
  return {
    config: { port: 15001, capture: { direction: 'OUTBOUND', tcpPorts: new Set<number>([5432]), ...(registryOnly ? { registryOnly } : {}) } },
    ctx: { clusters: new Map([['BlackHoleCluster', { stats: blackHoleStats }]]), hcm: { routeConfig: { virtualHosts: [] } } },
    stats: undefined,
    adoptHttp: () => undefined,
    trackTcp: () => undefined,
  } as unknown as CaptureHost;
}

async function listen(t: { teardown(fn: () => unknown): void }, srv: net.Server): Promise<number> {
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  t.teardown(() => srv.close());
  return (srv.address() as net.AddressInfo).port;
}

/** Connects to the capture server, writes, reads until closed. */
async function exchange(port: number): Promise<string> {
  const c = net.connect({ port, host: '127.0.0.1' });
  c.on('error', () => {});
  await once(c, 'connect');
  c.write('hello');
  let out = '';
  c.setEncoding('utf8');
  c.on('data', (d: string) => (out += d));
  await Promise.race([once(c, 'close'), sleep(3000)]);
  c.destroy();
  return out;
}

for (const registryOnly of [false, true]) {
  t.test(`${registryOnly ? 'REGISTRY_ONLY' : 'ALLOW_ANY'}: TCP to an unknown destination`, async (t) => {
    let reached = 0;
    const appPort = await listen(t, net.createServer((s) => {
      reached++;
      s.end('from app');
    }));
    const stats = new ClusterStats();
    const host = fakeHost(registryOnly, stats);
    const port = await listen(t, net.createServer((s) => handleCapturedTo(s, host, { address: '127.0.0.1', port: appPort })));
    const got = await exchange(port);
    if (registryOnly) {
      t.equal(got, '', 'closed without an answer');
      t.equal(reached, 0, 'the destination never sees the connection');
      t.equal(stats.upstream_cx_none_healthy, 1, 'counted on BlackHoleCluster');
    } else {
      t.equal(got, 'from app', 'passed through to the original destination');
      t.equal(reached, 1);
    }
  });
}

t.test('pickByWeight: a tcp route\'s weighted clusters under capture, by weight', async (t) => {
  const { pickByWeight } = await import('../src/capture/capture-connection.js');
  const w = [{ name: 'v1', weight: 80 }, { name: 'v2', weight: 20 }];
  t.equal(pickByWeight(w, 0), 'v1');
  t.equal(pickByWeight(w, 0.79), 'v1');
  t.equal(pickByWeight(w, 0.8), 'v2');
  t.equal(pickByWeight(w, 0.9999), 'v2');
});
