/** Durations and wrapper values from the plain-object form of Envoy messages. */
import type { Errors } from './errors.js';

export interface DurationLike {
  readonly seconds?: string | number;
  readonly nanos?: number;
}

/** A Duration in whole milliseconds (rounded up, so 1 ns is not "disabled"); `def` when absent. */
export function durationMs(d: DurationLike | null | undefined, def: number, path?: string, errors?: Errors): number {
  if (!d) return def;
  const s = Number(d.seconds ?? 0);
  const n = d.nanos ?? 0;
  if (s < 0 || n < 0) {
    errors?.add(path ?? '', 'duration must not be negative');
    return def;
  }
  const ms = s * 1000 + Math.ceil(n / 1e6);
  if (!Number.isSafeInteger(ms)) {
    errors?.add(path ?? '', 'duration too large');
    return def;
  }
  return ms;
}

/** The number in a UInt32Value / Int64 string etc., or `def` when absent. */
export function wrapped(w: { readonly value?: number | string } | null | undefined, def: number): number {
  if (!w || w.value === undefined) return def;
  return Number(w.value);
}

export function wrappedBool(w: { readonly value?: boolean } | null | undefined, def: boolean): boolean {
  if (!w || w.value === undefined) return def;
  return w.value;
}
