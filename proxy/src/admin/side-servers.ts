/**
 * The proxy's small HTTP servers beside its listeners, started the same way in static and
 * xDS mode: the admin API (loopback), the readiness endpoint Kubernetes probes, and the
 * Prometheus scrape endpoints.
 */
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Proxy } from '../proxy.js';
import { createAdminServer } from './admin-server.js';
import { createHealthServer } from './health-server.js';
import { createPrometheusServer } from './prometheus-server.js';
import { log } from '../log.js';

export interface Endpoint {
  readonly address: string;
  readonly port: number;
}

export interface SideServers {
  /** Bound ports (useful when 0 was asked). */
  readonly adminPort: number | undefined;
  readonly healthPort: number | undefined;
  readonly prometheusPorts: number[];
  close(): void;
}

function listen(server: http.Server, at: Endpoint, what: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', (e) => reject(new Error(`${what}: cannot listen on ${at.address}:${at.port}: ${e.message}`)));
    server.listen(at.port, at.address, () => resolve((server.address() as AddressInfo).port));
  });
}

/** Starts the admin server (if `admin`) and the health server (if `health`); on error closes what started. */
export async function startSideServers(proxy: Proxy, admin: Endpoint | undefined, health: Endpoint | undefined, onQuit: () => void, prometheus: readonly Endpoint[] = []): Promise<SideServers> {
  const servers: http.Server[] = [];
  const close = (): void => {
    for (const s of servers) {
      s.closeAllConnections();
      s.close();
    }
  };
  let adminPort: number | undefined;
  let healthPort: number | undefined;
  const prometheusPorts: number[] = [];
  try {
    if (admin !== undefined) {
      const server = createAdminServer(proxy, onQuit);
      servers.push(server);
      adminPort = await listen(server, admin, 'admin');
      log.info({ address: `${admin.address}:${adminPort}` }, 'admin listening');
    }
    if (health !== undefined) {
      const server = createHealthServer(proxy);
      servers.push(server);
      healthPort = await listen(server, health, 'health');
    }
    for (const at of prometheus) {
      const server = createPrometheusServer(proxy);
      servers.push(server);
      prometheusPorts.push(await listen(server, at, 'prometheus'));
    }
  } catch (e) {
    close();
    throw e;
  }
  return { adminPort, healthPort, prometheusPorts, close };
}
