/**
 * The examples bind fixed addresses (the control plane's 15010/15014/20001, their pods'
 * 127.0.0.x): two test files that run example scripts must not run them at the same time (tap
 * runs two files at once). Each holds this lock, a Linux abstract socket that the kernel releases
 * when the holding process exits, for as long as it runs examples. Not a test file.
 */
import net from 'node:net';

const LOCK = '\0minimesh-test-examples-lock';

/** Waits until no other test file holds the lock (at most `timeoutMs`), then holds it until `release()`. */
export async function holdExamplesLock(timeoutMs = 600_000): Promise<{ release(): void; waitedMs: number }> {
  const start = Date.now();
  for (;;) {
    const server = net.createServer();
    const held = await new Promise<boolean>((resolve) => {
      server.once('error', () => resolve(false));
      server.listen({ path: LOCK }, () => resolve(true));
    });
    if (held) {
      server.unref();
      return { release: () => server.close(), waitedMs: Date.now() - start };
    }
    if (Date.now() - start > timeoutMs) throw new Error(`another test file held the examples' lock for over ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 500));
  }
}
