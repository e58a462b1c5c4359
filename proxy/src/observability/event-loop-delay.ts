/**
 * The proxy's event-loop delay, as gauges on the admin API's /stats (a minimesh addition; Envoy
 * has no event loop to report): `server.event_loop_delay_ms_p99` and `server.event_loop_delay_ms_max`
 * over the last completed window of WINDOW_MS (perf_hooks.monitorEventLoopDelay, 10 ms
 * resolution). Process-wide: started once, by the first admin server; its timers never keep the
 * process alive. Reported as whole microseconds in ms (3 decimals).
 */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

const WINDOW_MS = 5000;

let histogram: IntervalHistogram | undefined;
let last: { p99: number; max: number } | undefined;

/** Starts measuring (idempotent). */
export function startEventLoopDelay(): void {
  if (histogram !== undefined) return;
  const h = monitorEventLoopDelay({ resolution: 10 });
  h.enable();
  histogram = h;
  setInterval(() => {
    last = { p99: h.percentile(99) / 1e6, max: h.max / 1e6 };
    h.reset();
  }, WINDOW_MS).unref();
}

/** The gauges' /stats lines (none until measuring started). */
export function eventLoopDelayLines(): string[] {
  if (histogram === undefined) return [];
  const v = last ?? { p99: histogram.percentile(99) / 1e6, max: histogram.max / 1e6 };
  const ms = (n: number): string => (Number.isFinite(n) ? n.toFixed(3) : '0');
  return [`server.event_loop_delay_ms_p99: ${ms(v.p99)}`, `server.event_loop_delay_ms_max: ${ms(v.max)}`];
}
