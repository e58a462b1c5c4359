/**
 * The proxy's small HTTP servers beside its listeners, started the same way in static and
 * xDS mode: the admin API (loopback), the readiness endpoint Kubernetes probes, the
 * Prometheus scrape endpoints and the agent port (15020: Prometheus and /app-health).
 */
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Proxy } from '../proxy.js';
import { createAdminServer } from './admin-server.js';
import { createHealthServer } from './health-server.js';
import { createPrometheusServer, type AppHealth } from './prometheus-server.js';
import { log } from '../log.js';
import type { AppProbers } from './app-probers.js';
import type { AppMetricsTarget } from './app-metrics.js';

export interface Endpoint {
  readonly address: string;
  readonly port: number;
}

export interface SideServers {
  /** Bound ports (useful when 0 was asked). */
  readonly adminPort: number | undefined;
  readonly healthPort: number | undefined;
  readonly prometheusPorts: number[];
  readonly agentPort: number | undefined;
  close(): void;
}

function listen(server: http.Server, at: Endpoint, what: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', (e) => reject(new Error(`${what}: cannot listen on ${at.address}:${at.port}: ${e.message}`)));
    server.listen(at.port, at.address, () => resolve((server.address() as AddressInfo).port));
  });
}

/** Starts the admin server (if `admin`) and the health server (if `health`); on error closes what started. */
export async function startSideServers(
  proxy: Proxy,
  admin: Endpoint | undefined,
  health: Endpoint | undefined,
  onQuit: () => void,
  prometheus: readonly Endpoint[] = [],
  agent?: { readonly at: Endpoint; readonly appHealth: AppHealth },
): Promise<SideServers> {
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
  let agentPort: number | undefined;
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
    if (agent !== undefined) {
      const server = createPrometheusServer(proxy, agent.appHealth);
      servers.push(server);
      agentPort = await listen(server, agent.at, 'agent');
      log.info({ address: `${agent.at.address}:${agentPort}`, appProbes: agent.appHealth.probers.size }, 'agent port listening (/stats/prometheus, /app-health)');
    }
  } catch (e) {
    close();
    throw e;
  }
  return { adminPort, healthPort, prometheusPorts, agentPort, close };
}

/** The agent server's settings from a proxy's options; undefined when it has no agent port. */
export function agentOf(
  address: string,
  o: { readonly agentPort?: number; readonly appProbers?: AppProbers; readonly podIp?: string; readonly appMetrics?: AppMetricsTarget },
): { readonly at: Endpoint; readonly appHealth: AppHealth } | undefined {
  if (o.agentPort === undefined) return undefined;
  return { at: { address, port: o.agentPort }, appHealth: { probers: o.appProbers ?? new Map(), podIp: o.podIp || '127.0.0.1', appMetrics: o.appMetrics } };
}
