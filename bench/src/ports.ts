// Free TCP ports on the loopback interface.
import { createServer } from 'node:net';

export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      if (addr === null || typeof addr === 'string') {
        srv.close();
        reject(new Error('could not read the address of a probe socket'));
        return;
      }
      const port = addr.port;
      srv.close(() => resolvePort(port));
    });
  });
}
