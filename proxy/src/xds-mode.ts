/**
 * `minimesh proxy --xds HOST:PORT`: the proxy starts with no listeners, takes its whole config
 * from an ADS server and becomes ready (/ready, /healthz/ready) once it applied a first one.
 * The node identity follows Istio: `sidecar~IP~POD.NAMESPACE~NAMESPACE.svc.cluster.local`
 * (`router~...` for gateways), from flags or the pod's environment.
 */
import type { AddressInfo } from 'node:net';
import type http from 'node:http';
import { PORTS } from '@minimesh/mesh';
import { istioNodeId, XdsClient, type XdsNode } from '@minimesh/xds/client';
import { Proxy } from './proxy.js';
import { createAdminServer } from './admin/admin-server.js';
import { createHealthServer } from './admin/health-server.js';
import { xdsConfigDump } from './admin/xds-config-dump.js';
import { log } from './log.js';

export interface XdsModeOptions {
  /** host:port of the ADS server. */
  readonly server: string;
  readonly node: XdsNode;
  readonly adminAddress: string;
  /** undefined: no admin server. */
  readonly adminPort: number | undefined;
  readonly healthAddress: string;
  readonly healthPort: number | undefined;
  readonly drainTimeMs: number;
  /** Reconnect backoff (defaults 500 ms doubling to 15 s). */
  readonly backoff?: { readonly initialMs?: number; readonly maxMs?: number };
  readonly pendingTimeoutMs?: number;
}

type Env = Readonly<Record<string, string | undefined>>;

/** Istio's service cluster for a pod: its workload name (the pod name without the ReplicaSet and pod hashes) `.namespace`. */
export function defaultNodeCluster(pod: string | undefined, namespace: string): string {
  if (!pod) return 'istio-proxy';
  const m = /^(.+)-[a-z0-9]{5,10}-[a-z0-9]{5}$/.exec(pod);
  return `${m ? m[1] : pod}.${namespace}`;
}

/**
 * The node identity: flags win, then the environment Istio's injector sets (POD_NAME,
 * POD_NAMESPACE, INSTANCE_IP, ISTIO_META_* as strings, ISTIO_METAJSON_* as JSON).
 */
export function nodeFromEnv(type: 'sidecar' | 'router', flags: { id?: string; cluster?: string }, env: Env = process.env): XdsNode {
  const ns = env.POD_NAMESPACE || 'default';
  const pod = env.POD_NAME || env.HOSTNAME || 'minimesh-proxy';
  const ip = env.INSTANCE_IP || '127.0.0.1';
  const metadata: Record<string, unknown> = { NAMESPACE: ns, POD_NAME: pod, INSTANCE_IPS: ip };
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) continue;
    if (k.startsWith('ISTIO_METAJSON_')) {
      try {
        metadata[k.slice('ISTIO_METAJSON_'.length)] = JSON.parse(v);
      } catch {
        log.warn({ env: k }, 'not JSON, ignored');
      }
    } else if (k.startsWith('ISTIO_META_')) metadata[k.slice('ISTIO_META_'.length)] = v;
  }
  return {
    id: flags.id ?? istioNodeId(type, ip, pod, ns),
    cluster: flags.cluster ?? defaultNodeCluster(env.POD_NAME, ns),
    metadata,
  };
}

function listen(server: http.Server, port: number, host: string, what: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', (e) => reject(new Error(`${what}: cannot listen on ${host}:${port}: ${e.message}`)));
    server.listen(port, host, () => resolve((server.address() as AddressInfo).port));
  });
}

export interface RunningXdsProxy {
  readonly proxy: Proxy;
  readonly client: XdsClient;
  readonly adminPort: number | undefined;
  readonly healthPort: number | undefined;
  stop(): Promise<void>;
}

/** Starts the admin and health servers, then the xDS client; resolves without waiting for a config. */
export async function startXdsProxy(opts: XdsModeOptions, onQuit?: () => void): Promise<RunningXdsProxy> {
  const proxy = new Proxy({ drainTimeMs: opts.drainTimeMs });
  const client = new XdsClient({
    server: opts.server,
    node: opts.node,
    log,
    backoff: opts.backoff,
    pendingTimeoutMs: opts.pendingTimeoutMs,
    onConfig: async ({ config, dump }) => {
      await proxy.apply(config, xdsConfigDump({ node: opts.node, server: opts.server }, dump));
      for (const l of proxy.listeners.values()) log.debug({ listener: l.config.name, address: `${l.config.address}:${l.port}` }, 'listening');
    },
  });
  proxy.configDump = xdsConfigDump({ node: opts.node, server: opts.server }, {});
  const servers: http.Server[] = [];
  let adminPort: number | undefined;
  let healthPort: number | undefined;
  const stop = async (): Promise<void> => {
    await client.close();
    await proxy.drain();
    for (const s of servers) {
      s.closeAllConnections();
      s.close();
    }
  };
  try {
    if (opts.adminPort !== undefined) {
      const admin = createAdminServer(proxy, onQuit ?? (() => void stop()));
      servers.push(admin);
      adminPort = await listen(admin, opts.adminPort, opts.adminAddress, 'admin');
      log.info({ address: `${opts.adminAddress}:${adminPort}` }, 'admin listening');
    }
    if (opts.healthPort !== undefined) {
      const health = createHealthServer(proxy);
      servers.push(health);
      healthPort = await listen(health, opts.healthPort, opts.healthAddress, 'health');
    }
  } catch (e) {
    await stop();
    throw e;
  }
  log.info({ server: opts.server, node: opts.node.id }, 'xDS: connecting');
  client.start();
  return { proxy, client, adminPort, healthPort, stop };
}

export const XDS_DEFAULT_ADMIN_PORT = PORTS.admin;
