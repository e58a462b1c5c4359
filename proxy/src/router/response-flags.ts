/**
 * Response flags as a small bit set, printed in Envoy's order (`UF,URX`), "-" when none.
 */
import type { ResponseFlag } from '@minimesh/mesh';

/** Envoy's order of flags in `%RESPONSE_FLAGS%`. */
const ORDER: readonly ResponseFlag[] = ['UH', 'UT', 'LR', 'UR', 'UF', 'UC', 'UO', 'NR', 'DI', 'FI', 'RL', 'DC', 'URX', 'SI', 'DPE', 'UMSDR', 'NC', 'UPE'];
const BIT = new Map<ResponseFlag, number>(ORDER.map((f, i) => [f, 1 << i]));

export function flagBit(f: ResponseFlag): number {
  return BIT.get(f)!;
}

export function formatFlags(bits: number): string {
  if (bits === 0) return '-';
  const out: string[] = [];
  for (let i = 0; i < ORDER.length; i++) if (bits & (1 << i)) out.push(ORDER[i]);
  return out.join(',');
}
