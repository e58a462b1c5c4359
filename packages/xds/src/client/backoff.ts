/** Exponential backoff with jitter for reconnects: 0.5 s doubling up to 15 s by default. */
export class Backoff {
  private attempt = 0;

  constructor(
    private readonly initialMs = 500,
    private readonly maxMs = 15_000,
    private readonly random: () => number = Math.random,
  ) {}

  /** The next delay: the doubled base, jittered to between half of it and all of it. */
  next(): number {
    const base = Math.min(this.maxMs, this.initialMs * 2 ** this.attempt);
    this.attempt = Math.min(this.attempt + 1, 30);
    return Math.round(base / 2 + (this.random() * base) / 2);
  }

  reset(): void {
    this.attempt = 0;
  }
}
