/**
 * Istio's push debounce: a burst of changes becomes one push, fired after `quietMs` without a
 * new change, or `maxMs` after the first change of the burst, whichever comes first.
 */
export interface DebounceTimes {
  /** Quiet period (Istio PILOT_DEBOUNCE_AFTER: 100 ms). */
  readonly quietMs: number;
  /** Longest wait from the first change (Istio PILOT_DEBOUNCE_MAX is 10 s; minimesh: 1 s). */
  readonly maxMs: number;
}

export const DEFAULT_DEBOUNCE: DebounceTimes = { quietMs: 100, maxMs: 1000 };

export class PushDebouncer {
  private quietTimer: NodeJS.Timeout | undefined;
  private firstAt: number | undefined;
  private stopped = false;

  constructor(
    private readonly fire: () => void,
    private readonly times: DebounceTimes = DEFAULT_DEBOUNCE,
  ) {}

  /** A change happened: (re)arms the timer. */
  trigger(): void {
    if (this.stopped) return;
    const now = Date.now();
    this.firstAt ??= now;
    if (this.quietTimer) clearTimeout(this.quietTimer);
    const wait = Math.max(0, Math.min(this.times.quietMs, this.firstAt + this.times.maxMs - now));
    this.quietTimer = setTimeout(() => this.flush(), wait);
  }

  /** Fires now if a change is pending. */
  flush(): void {
    if (this.quietTimer) clearTimeout(this.quietTimer);
    const pending = this.firstAt !== undefined;
    this.quietTimer = undefined;
    this.firstAt = undefined;
    if (pending && !this.stopped) this.fire();
  }

  get pending(): boolean {
    return this.firstAt !== undefined;
  }

  stop(): void {
    this.stopped = true;
    if (this.quietTimer) clearTimeout(this.quietTimer);
    this.quietTimer = undefined;
  }
}
