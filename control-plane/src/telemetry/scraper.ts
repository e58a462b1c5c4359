/**
 * The scraper: every `intervalMs` (default 5 s) it GETs every target's metrics page at once,
 * each with a 2 s timeout, keeps the `istio_*` samples and writes them to the store under the
 * target's id, stamped with the scrape's start time (as Prometheus does). It never throws: a
 * target that fails is recorded in `health()` with the reason, and the next round tries again.
 * Listeners hear about every completed round (the dashboard pushes graphs then).
 */
import { parseExposition } from './exposition-parser.js';
import type { MetricStore } from './metric-store.js';

export const DEFAULT_SCRAPE_INTERVAL_MS = 5000;
export const SCRAPE_TIMEOUT_MS = 2000;
/** A metrics page larger than this is cut off (and reported): 32 MiB. */
const MAX_BODY_BYTES = 32 * 1024 * 1024;

export interface ScrapeTarget {
  readonly id: string;
  readonly url: string;
}

export interface TargetHealth {
  readonly id: string;
  readonly url: string;
  readonly lastScrape: string;
  readonly durationMs: number;
  readonly samples: number;
  readonly skippedLines: number;
  readonly error?: string;
}

export interface ScraperOptions {
  readonly targets: () => readonly ScrapeTarget[];
  readonly store: MetricStore;
  readonly intervalMs?: number;
  readonly timeoutMs?: number;
  /** Which metric names to keep (default: `istio_*`). */
  readonly keep?: (name: string) => boolean;
  readonly now?: () => number;
}

const keepIstio = (name: string): boolean => name.startsWith('istio_');

export class Scraper {
  readonly intervalMs: number;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = true;
  private readonly listeners = new Set<() => void>();
  private readonly healthById = new Map<string, TargetHealth>();
  /** Completed rounds. */
  rounds = 0;

  constructor(private readonly opts: ScraperOptions) {
    this.intervalMs = opts.intervalMs ?? DEFAULT_SCRAPE_INTERVAL_MS;
    if (!(this.intervalMs > 0)) throw new Error(`scrape interval must be positive, got ${this.intervalMs} ms`);
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    const tick = (): void => {
      if (this.stopped) return;
      this.running = this.scrapeOnce().finally(() => {
        this.running = undefined;
        if (!this.stopped) this.timer = setTimeout(tick, this.intervalMs);
      });
    };
    tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** Subscribes to completed rounds; returns the unsubscribe function. */
  onScrape(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  health(): TargetHealth[] {
    return [...this.healthById.values()].sort((a, b) => a.id.localeCompare(b.id));
  }

  /** One round over every target; resolves when all have answered or timed out. */
  async scrapeOnce(): Promise<void> {
    let targets: readonly ScrapeTarget[] = [];
    try {
      targets = this.opts.targets();
    } catch {
      targets = [];
    }
    const seen = new Set(targets.map((t) => t.id));
    for (const id of this.healthById.keys()) if (!seen.has(id)) this.healthById.delete(id);
    await Promise.all(targets.map((t) => this.scrapeTarget(t)));
    this.rounds++;
    for (const l of [...this.listeners]) {
      try {
        l();
      } catch {
        // a listener's failure is its own
      }
    }
  }

  private async scrapeTarget(target: ScrapeTarget): Promise<void> {
    const now = this.opts.now ?? Date.now;
    const at = now();
    const started = performance.now();
    let samples = 0;
    let skippedLines = 0;
    let error: string | undefined;
    try {
      const res = await fetch(target.url, {
        signal: AbortSignal.timeout(this.opts.timeoutMs ?? SCRAPE_TIMEOUT_MS),
        headers: { accept: 'text/plain;version=0.0.4' },
      });
      const text = await res.text();
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const parsed = parseExposition(text.length > MAX_BODY_BYTES ? text.slice(0, MAX_BODY_BYTES) : text, this.opts.keep ?? keepIstio);
      samples = parsed.samples.length;
      skippedLines = parsed.skipped;
      if (parsed.problems.length) error = `skipped ${parsed.skipped} line(s): ${parsed.problems[0]}`;
      this.opts.store.ingest(target.id, parsed.samples, at);
    } catch (e) {
      const err = e as Error & { cause?: { code?: string } };
      error = err.name === 'TimeoutError' ? `timed out after ${this.opts.timeoutMs ?? SCRAPE_TIMEOUT_MS} ms` : (err.cause?.code ?? err.message);
    }
    this.healthById.set(target.id, {
      id: target.id,
      url: target.url,
      lastScrape: new Date(at).toISOString(),
      durationMs: Math.round(performance.now() - started),
      samples,
      skippedLines,
      error,
    });
  }
}
