/**
 * A head and a small body in one buffer, so they leave in one write (one syscall instead of
 * two; see bench/README.md). Bodies up to COALESCE_MAX are copied next to their head.
 */
export const COALESCE_MAX = 16 * 1024;

/** One buffer holding a latin1 head and a body. */
export function coalesce(head: string, body: Buffer): Buffer {
  const buf = Buffer.allocUnsafe(head.length + body.length);
  buf.write(head, 0, 'latin1');
  body.copy(buf, head.length);
  return buf;
}
