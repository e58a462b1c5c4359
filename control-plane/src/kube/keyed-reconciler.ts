/**
 * Runs `reconcile(key)` for keys as they are enqueued: one run at a time per key (a key
 * enqueued while it runs runs once more afterwards), and a failed run retried with backoff
 * (`initialMs` doubling to `maxMs`; reset by a success). Retries never stop, as istiod's
 * controllers do; `onError` hears of every failure.
 */
export interface ReconcilerOptions {
  readonly initialMs?: number;
  readonly maxMs?: number;
  readonly onError?: (key: string, err: unknown, retryInMs: number) => void;
}

interface KeyState {
  running: boolean;
  dirty: boolean;
  delayMs: number;
  timer: NodeJS.Timeout | undefined;
}

/** Exponential backoff: `initialMs`, doubled each call, at most `maxMs`. */
export class Backoff {
  private current: number;
  constructor(
    private readonly initialMs = 100,
    private readonly maxMs = 60_000,
  ) {
    this.current = initialMs;
  }

  next(): number {
    const d = this.current;
    this.current = Math.min(this.current * 2, this.maxMs);
    return d;
  }

  reset(): void {
    this.current = this.initialMs;
  }
}

export class KeyedReconciler {
  private readonly keys = new Map<string, KeyState>();
  private stopped = false;

  constructor(
    private readonly reconcile: (key: string) => Promise<void>,
    private readonly o: ReconcilerOptions = {},
  ) {}

  enqueue(key: string): void {
    if (this.stopped) return;
    let s = this.keys.get(key);
    if (!s) this.keys.set(key, (s = { running: false, dirty: false, delayMs: this.o.initialMs ?? 100, timer: undefined }));
    if (s.running) {
      s.dirty = true;
      return;
    }
    clearTimeout(s.timer);
    s.timer = undefined;
    void this.run(key, s);
  }

  /** Keys enqueued, running or waiting for a retry. */
  get pending(): number {
    let n = 0;
    for (const s of this.keys.values()) if (s.running || s.timer !== undefined) n++;
    return n;
  }

  stop(): void {
    this.stopped = true;
    for (const s of this.keys.values()) clearTimeout(s.timer);
    this.keys.clear();
  }

  private async run(key: string, s: KeyState): Promise<void> {
    s.running = true;
    s.dirty = false;
    let failed = false;
    try {
      await this.reconcile(key);
      s.delayMs = this.o.initialMs ?? 100;
    } catch (e) {
      failed = true;
      if (!this.stopped) this.o.onError?.(key, e, s.delayMs);
    }
    s.running = false;
    if (this.stopped) return;
    if (s.dirty) return this.enqueue(key);
    if (failed) {
      const delay = s.delayMs;
      s.delayMs = Math.min(s.delayMs * 2, this.o.maxMs ?? 60_000);
      s.timer = setTimeout(() => {
        s.timer = undefined;
        this.enqueue(key);
      }, delay);
      s.timer.unref();
    } else {
      this.keys.delete(key);
    }
  }
}
