/** Non-empty subsets of `items` (kept in order), largest first. */
export function subsetsLargestFirst<T>(items: readonly T[]): T[][] {
  const out: T[][] = [];
  for (let mask = (1 << items.length) - 1; mask > 0; mask--) out.push(items.filter((_, i) => mask & (1 << i)));
  return out.sort((a, b) => b.length - a.length);
}
