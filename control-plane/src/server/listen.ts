/** Starts and stops the control plane's plain servers (HTTP or HTTPS) on an address. */
import type { Server } from 'node:net';
import type { AddressInfo } from 'node:net';

/** Listens on host:port; resolves with the bound port, rejects naming the server and the address. */
export function listenOn(server: Server, host: string, port: number, what: string): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    server.once('error', (e) => reject(new Error(`${what}: cannot listen on ${host}:${port}: ${e.message}`)));
    server.listen(port, host, () => resolve((server.address() as AddressInfo).port));
  });
}

/** Closes the server and every connection it holds. */
export async function closeServer(server: Server | undefined): Promise<void> {
  if (!server) return;
  (server as Server & { closeAllConnections?: () => void }).closeAllConnections?.();
  await new Promise<void>((r) => server.close(() => r()));
}
