/** HTTP servers on one port of several loopback addresses (DNS and original-destination tests). Not a test file. */
import http from 'node:http';
import net from 'node:net';
import { once } from 'node:events';

/**
 * One HTTP server per address in `ips`, all on the same free port (the first one's, retried when
 * another address already holds it); `handler(ip)` answers for each. Closed at teardown.
 */
export async function serveOnIps(t: { teardown(fn: () => unknown): void }, ips: readonly string[], handler: (ip: string) => http.RequestListener): Promise<number> {
  for (let attempt = 0; ; attempt++) {
    const servers: http.Server[] = [];
    let port = 0;
    try {
      for (const ip of ips) {
        const s = http.createServer(handler(ip));
        s.listen(port, ip);
        servers.push(s);
        await once(s, 'listening');
        port = (s.address() as net.AddressInfo).port;
      }
      for (const s of servers) t.teardown(() => s.close());
      return port;
    } catch (e) {
      for (const s of servers) s.close();
      if (attempt > 5) throw e;
    }
  }
}
