/**
 * Counts gRPC length-prefixed messages (1 flag byte, 4 length bytes big-endian, payload) in
 * body data as it passes, across chunk boundaries, without copying: a small state machine
 * that reads the prefix byte by byte and skips payloads by length.
 */
export class GrpcMessageCounter {
  /** Messages whose prefix was seen in full. */
  count = 0;
  /** Bytes of the current prefix read (0..4 after the flag byte; 0 = expecting a new message). */
  private prefixRead = 0;
  private length = 0;
  /** Payload bytes of the current message still to skip. */
  private skip = 0;

  feed(chunk: Buffer): void {
    let i = 0;
    const n = chunk.length;
    while (i < n) {
      if (this.skip > 0) {
        const take = Math.min(this.skip, n - i);
        this.skip -= take;
        i += take;
        continue;
      }
      if (this.prefixRead > 0) this.length = this.length * 256 + chunk[i];
      else this.length = 0;
      i++;
      if (++this.prefixRead === 5) {
        this.prefixRead = 0;
        this.count++;
        this.skip = this.length;
      }
    }
  }
}
