/**
 * The primary's side of `minimesh proxy --concurrency N`: N worker processes (node:cluster)
 * that run the listeners and the request path, kept at N (a worker that dies is forked again,
 * and logged), each handed the current config and secrets when it starts and every config and
 * secret after that; asked for their stats; drained at shutdown.
 *
 * Scheduling: SCHED_NONE. Each listener's socket is bound once (by node:cluster, in this
 * process) and shared with every worker, which then accepts on it itself, as Envoy's worker
 * threads each accept from the listener's socket. With node's default on Linux (SCHED_RR) the
 * primary would accept every connection and pass it to a worker over IPC: a hop per connection
 * through the one process that should stay off the request path, and a captured connection's
 * original destination would then be read on a passed fd. With SCHED_NONE the kernel hands a
 * new connection to one of the workers waiting in accept.
 */
import cluster, { type Worker } from 'node:cluster';
import { fileURLToPath } from 'node:url';
import { log } from '../log.js';
import type { SecretStore } from '../security/secret-store.js';
import { mergeStatsSnapshots, retiredStats, type StatsSnapshot } from '../observability/stats-snapshot.js';
import { mergeIstioSeries, type IstioSeries } from '../observability/istio/istio-series.js';
import type { ConfigSnapshot } from './config-snapshot.js';
import type { BoundListener, FromWorker, ToWorker, WorkerSettings } from './messages.js';

const WORKER_MAIN = fileURLToPath(new URL('./worker-main.js', import.meta.url));
/** How long a worker may take to start (node loading the proxy's modules on a busy machine). */
const START_TIMEOUT_MS = 30_000;
/** How long a worker may take to apply a config (listeners bound) before the apply fails. */
const APPLY_TIMEOUT_MS = 30_000;

type Applied = Extract<FromWorker, { type: 'applied' }>;
type StatsReply = Extract<FromWorker, { type: 'stats' }>;

interface Slot {
  readonly index: number;
  readonly worker: Worker;
  readonly startedAt: number;
  ready: boolean;
  /** Its stats as the last scrape saw them (kept, less its gauges, when it exits). */
  lastStats?: WorkerStats;
  /** Replies awaited from this worker: config seq -> resolve (undefined: the worker exited). */
  readonly applies: Map<number, (r: Applied | undefined) => void>;
  readonly stats: Map<number, (r: StatsReply | undefined) => void>;
}

export interface WorkerStats {
  readonly stats: StatsSnapshot;
  readonly istio: IstioSeries;
}

export class WorkerPool {
  private readonly slots: (Slot | undefined)[];
  private current: { seq: number; snapshot: ConfigSnapshot } | undefined;
  private seq = 0;
  private statsId = 0;
  private stopping = false;
  /** Quick deaths in a row per slot: the re-fork waits longer each time (a crash loop does not spin). */
  private readonly crashes: number[];
  private readyWaiters: (() => void)[] = [];
  /** Set by drainListeners: whether only the inbound ones were drained. */
  private drainedListeners: boolean | undefined;
  /** The counters of workers that exited, as last seen: part of every sum after them. */
  private retired: WorkerStats | undefined;
  /** The listeners the workers serve, as the last config applied bound them. */
  listeners: readonly BoundListener[] = [];

  constructor(
    readonly count: number,
    private readonly settings: WorkerSettings,
    private readonly secrets: SecretStore,
  ) {
    this.slots = new Array<Slot | undefined>(count).fill(undefined);
    this.crashes = new Array<number>(count).fill(0);
    // A rotated certificate (or an SDS secret) reaches every worker.
    secrets.on('change', (name, secret) => this.broadcast({ type: 'secret', name, secret }));
  }

  /** Forks the workers; resolves once each listens for the primary's messages. */
  async start(): Promise<void> {
    // Frozen at the first fork: set before it (see the file's comment).
    cluster.schedulingPolicy = cluster.SCHED_NONE;
    cluster.setupPrimary({ exec: WORKER_MAIN, args: [], serialization: 'advanced' });
    for (let i = 0; i < this.count; i++) this.fork(i);
    const all = new Promise<void>((resolve) => {
      const check = (): void => {
        if (this.slots.every((s) => s?.ready === true)) resolve();
        else this.readyWaiters.push(check);
      };
      check();
    });
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`--concurrency ${this.count}: the workers did not start within ${START_TIMEOUT_MS / 1000} s`)), START_TIMEOUT_MS);
    });
    try {
      await Promise.race([all, late]);
    } catch (e) {
      await this.drain(0); // none left behind to keep this process alive
      throw e;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Workers running now (for tests and the log). */
  pids(): number[] {
    return this.slots.flatMap((s) => (s?.worker.process.pid !== undefined ? [s.worker.process.pid] : []));
  }

  private fork(index: number): void {
    const worker = cluster.fork({ MINIMESH_WORKER_INDEX: String(index) });
    const slot: Slot = { index, worker, startedAt: Date.now(), ready: false, applies: new Map(), stats: new Map() };
    this.slots[index] = slot;
    worker.on('message', (m: FromWorker) => this.onMessage(slot, m));
    worker.on('exit', (code, signal) => this.onExit(slot, code, signal));
  }

  private send(slot: Slot, m: ToWorker): void {
    if (slot.worker.isConnected()) slot.worker.send(m);
  }

  private broadcast(m: ToWorker): void {
    for (const s of this.slots) if (s?.ready) this.send(s, m);
  }

  private onMessage(slot: Slot, m: FromWorker): void {
    switch (m.type) {
      case 'ready': {
        this.send(slot, { type: 'init', settings: this.settings });
        for (const name of this.secrets.names()) this.send(slot, { type: 'secret', name, secret: this.secrets.get(name)! });
        slot.ready = true;
        const cur = this.current;
        if (cur !== undefined) {
          // A worker started later (re-forked) takes the current config.
          void this.sendConfig(slot, cur.seq, cur.snapshot).then((r) => {
            if (r?.error !== undefined) log.error({ worker: slot.index, error: r.error }, 'a restarted worker could not apply the current config');
            else if (r !== undefined) log.info({ worker: slot.index, pid: slot.worker.process.pid }, 'worker serving');
          });
        }
        if (this.drainedListeners !== undefined) this.send(slot, { type: 'drain-listeners', inboundOnly: this.drainedListeners });
        const waiters = this.readyWaiters;
        this.readyWaiters = [];
        for (const w of waiters) w();
        return;
      }
      case 'applied':
        slot.applies.get(m.seq)?.(m);
        slot.applies.delete(m.seq);
        return;
      case 'stats':
        slot.stats.get(m.id)?.(m);
        slot.stats.delete(m.id);
        return;
    }
  }

  private onExit(slot: Slot, code: number | null, signal: string | null): void {
    for (const r of slot.applies.values()) r(undefined);
    for (const r of slot.stats.values()) r(undefined);
    if (this.slots[slot.index] === slot) this.slots[slot.index] = undefined;
    if (slot.lastStats !== undefined) {
      const gone = { stats: retiredStats(slot.lastStats.stats), istio: slot.lastStats.istio };
      this.retired = this.retired === undefined ? gone : { stats: mergeStatsSnapshots([this.retired.stats, gone.stats]), istio: mergeIstioSeries([this.retired.istio, gone.istio]) };
    }
    if (this.stopping) return;
    const quick = Date.now() - slot.startedAt < 5_000;
    this.crashes[slot.index] = quick ? this.crashes[slot.index] + 1 : 0;
    const delay = Math.min(100 * 2 ** Math.max(0, this.crashes[slot.index] - 1), 10_000) * (quick ? 1 : 0);
    log.error({ worker: slot.index, pid: slot.worker.process.pid, code, signal, restartInMs: delay }, 'worker exited: forking it again');
    setTimeout(() => {
      if (!this.stopping && this.slots[slot.index] === undefined) this.fork(slot.index);
    }, delay).unref();
  }

  private sendConfig(slot: Slot, seq: number, snapshot: ConfigSnapshot): Promise<Applied | undefined> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        slot.applies.delete(seq);
        reject(new Error(`worker ${slot.index} did not apply the config within ${APPLY_TIMEOUT_MS / 1000} s`));
      }, APPLY_TIMEOUT_MS);
      slot.applies.set(seq, (r) => {
        clearTimeout(timer);
        resolve(r);
      });
      this.send(slot, { type: 'config', seq, snapshot });
    });
  }

  /**
   * Hands a config to every worker; resolves with the listeners bound once all applied it, or
   * rejects with the first worker's error (a listener that cannot bind: the address, the port
   * and why). Workers keep their last good config on error. A worker starting meanwhile takes it
   * when it is ready.
   */
  async apply(snapshot: ConfigSnapshot): Promise<readonly BoundListener[]> {
    const seq = ++this.seq;
    this.current = { seq, snapshot };
    const replies = await Promise.all(this.slots.filter((s): s is Slot => s?.ready === true).map((s) => this.sendConfig(s, seq, snapshot)));
    const failed = replies.find((r) => r?.error !== undefined);
    if (failed !== undefined) throw new Error(failed.error);
    const first = replies.find((r) => r !== undefined);
    if (first !== undefined) this.listeners = first.listeners;
    return this.listeners;
  }

  /**
   * Each worker's stats, and the counters of the workers that exited; a worker that does not
   * answer within `timeoutMs` is left out (and logged).
   */
  async collectStats(timeoutMs = 1000): Promise<WorkerStats[]> {
    const asked = this.slots.filter((s): s is Slot => s?.ready === true);
    const replies = await Promise.all(
      asked.map(
        (slot) =>
          new Promise<StatsReply | undefined>((resolve) => {
            const id = ++this.statsId;
            const timer = setTimeout(() => {
              slot.stats.delete(id);
              log.warn({ worker: slot.index, timeoutMs }, 'worker did not send its stats in time: left out of this scrape');
              resolve(undefined);
            }, timeoutMs);
            slot.stats.set(id, (r) => {
              clearTimeout(timer);
              if (r !== undefined) slot.lastStats = { stats: r.stats, istio: r.istio };
              resolve(r);
            });
            this.send(slot, { type: 'stats', id });
          }),
      ),
    );
    const live = replies.filter((r): r is StatsReply => r !== undefined).map((r) => ({ stats: r.stats, istio: r.istio }));
    return this.retired === undefined ? live : [this.retired, ...live];
  }

  /** `POST /drain_listeners`: every worker's listeners stop accepting (a worker started later too). */
  drainListeners(inboundOnly: boolean): void {
    this.drainedListeners = (this.drainedListeners ?? true) && inboundOnly;
    this.broadcast({ type: 'drain-listeners', inboundOnly });
  }

  /**
   * Every worker drains (stops accepting, lets requests in flight finish for the drain time)
   * and exits; one still running `graceMs` later is killed. No worker is forked after this.
   */
  async drain(graceMs: number): Promise<void> {
    this.stopping = true;
    const live = this.slots.filter((s): s is Slot => s !== undefined && !s.worker.isDead());
    const exited = live.map((s) => new Promise<void>((resolve) => (s.worker.isDead() ? resolve() : s.worker.once('exit', () => resolve()))));
    for (const s of live) {
      if (s.ready) this.send(s, { type: 'drain' });
      else s.worker.process.kill('SIGKILL');
    }
    const timer = setTimeout(() => {
      for (const s of live) if (!s.worker.isDead()) s.worker.process.kill('SIGKILL');
    }, graceMs);
    await Promise.all(exited);
    clearTimeout(timer);
  }
}
