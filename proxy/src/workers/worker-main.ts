/**
 * A worker process of `minimesh proxy --concurrency N` (started by worker-pool.ts with
 * node:cluster): it runs the listeners and the request path of a `Proxy`, on the config and
 * secrets its primary sends, and answers the primary's requests for its stats. It owns no
 * admin, health or xDS connection. SIGTERM and SIGINT are the primary's to act on (a terminal's
 * Ctrl-C reaches the whole process group): the primary drains its workers; a worker whose
 * primary is gone (the IPC channel closed) exits at once (node:cluster does so).
 */
import type net from 'node:net';
import { Proxy } from '../proxy.js';
import { log } from '../log.js';
import { bindHooks } from '../listener.js';
import { snapshotStats } from '../observability/stats-snapshot.js';
import { collectIstioSeries } from '../observability/istio/render-istio-metrics.js';
import { SnapshotCompiler } from './config-snapshot.js';
import type { FromWorker, ToWorker } from './messages.js';

const index = Number(process.env.MINIMESH_WORKER_INDEX ?? '0');
log.setBindings({ worker: index });
process.on('uncaughtException', (err) => log.error({ err }, 'uncaught exception (a bug in minimesh): the worker keeps serving'));
for (const sig of ['SIGTERM', 'SIGINT'] as const) process.on(sig, () => log.debug({ signal: sig }, 'left to the primary, which drains its workers'));

let proxy: Proxy | undefined;
const compiler = new SnapshotCompiler();
/** Configs apply one at a time, in the order sent. */
let queue: Promise<void> = Promise.resolve();

function send(m: FromWorker): void {
  process.send?.(m);
}

/** Envoy's `listener.<address>_<port>.worker_<N>.downstream_cx_{total,active}`, counted per bound server. */
function countConnections(p: Proxy, server: net.Server): void {
  const a = server.address();
  if (a === null || typeof a !== 'object') return;
  const key = `${a.address}_${a.port}|${index}`;
  let s = p.stats.perWorker.get(key);
  if (s === undefined) p.stats.perWorker.set(key, (s = { downstream_cx_active: 0, downstream_cx_total: 0 }));
  const stats = s;
  server.on('connection', (socket: net.Socket) => {
    stats.downstream_cx_total++;
    stats.downstream_cx_active++;
    socket.once('close', () => stats.downstream_cx_active--);
  });
}

function onMessage(m: ToWorker): void {
  switch (m.type) {
    case 'init': {
      log.level = m.settings.logLevel;
      const p = (proxy = new Proxy({ drainTimeMs: m.settings.drainTimeMs, dnsResolvers: m.settings.dnsResolvers }));
      bindHooks.onBound = (server) => countConnections(p, server);
      return;
    }
    case 'secret':
      proxy?.secrets.set(m.name, m.secret);
      return;
    case 'config': {
      const p = proxy;
      if (p === undefined) return;
      queue = queue.then(async () => {
        try {
          await p.apply(compiler.compile(m.snapshot), {});
          send({ type: 'applied', seq: m.seq, listeners: [...p.listeners.values()].map((l) => ({ name: l.config.name, address: l.config.address, port: l.port })) });
        } catch (e) {
          send({ type: 'applied', seq: m.seq, error: (e as Error).message, listeners: [] });
        }
      });
      return;
    }
    case 'stats':
      if (proxy !== undefined) send({ type: 'stats', id: m.id, stats: snapshotStats(proxy.stats), istio: collectIstioSeries(proxy.istio) });
      return;
    case 'drain-listeners':
      // After the configs sent before it (a restarted worker gets the config, then this).
      queue = queue.then(() => proxy?.drainListeners(m.inboundOnly));
      return;
    case 'drain':
      void (proxy?.drain() ?? Promise.resolve()).then(() => process.exit(0));
      return;
  }
}

process.on('message', (m) => onMessage(m as ToWorker));
send({ type: 'ready' });
