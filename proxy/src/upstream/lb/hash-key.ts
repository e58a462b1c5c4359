/**
 * The 32-bit hash consistent hashing works with: FNV-1a over the UTF-16 code units, then
 * MurmurHash3's finalizer so that keys differing in one character land far apart. Not
 * Envoy's xxHash64 (so rings differ from Envoy's), but the same properties: stable per key,
 * spread over the whole range, cheap per request.
 */
export function hash32(s: string, seed = 0): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Envoy's way to fold several hash policies into one: rotate left by one, then xor. */
export function combineHashes(acc: number, next: number): number {
  return (((acc << 1) | (acc >>> 31)) ^ next) >>> 0;
}
