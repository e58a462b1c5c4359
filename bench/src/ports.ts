// Free TCP ports on the loopback interface.
import { createServer, type Server } from 'node:net';

function probe(): Promise<Server> {
  return new Promise((resolveServer, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => resolveServer(srv));
  });
}

/**
 * `n` distinct free ports: the probe sockets are all held open until every port is known
 * (asking one at a time can hand out the same port twice, once the first probe is closed).
 */
export async function freePorts(n: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    for (let i = 0; i < n; i++) servers.push(await probe());
    return servers.map((srv) => {
      const addr = srv.address();
      if (addr === null || typeof addr === 'string') throw new Error('could not read the address of a probe socket');
      return addr.port;
    });
  } finally {
    await Promise.all(servers.map((srv) => new Promise<void>((r) => srv.close(() => r()))));
  }
}

export async function freePort(): Promise<number> {
  const [port] = await freePorts(1);
  return port;
}
