/**
 * `minimesh proxy --xds HOST:PORT`: the proxy starts with no listeners, takes its whole config
 * from an ADS server and becomes ready (/ready, /healthz/ready) once it applied a first one.
 * The node identity follows Istio: `sidecar~IP~POD.NAMESPACE~NAMESPACE.svc.cluster.local`
 * (`router~...` for gateways), from flags or the pod's environment. Over TLS (see xds-tls.ts)
 * when a root is given or mounted.
 */
import { PORTS } from '@minimesh/mesh';
import { XdsClient, type XdsNode } from '@minimesh/xds/client';
import { Proxy } from './proxy.js';
import type { RunningProxy } from './main.js';
import { startSideServers, agentOf, type SideServers } from './admin/side-servers.js';
import type { AppProbers } from './admin/app-probers.js';
import type { AppMetricsTarget } from './admin/app-metrics.js';
import { xdsConfigDump } from './admin/xds-config-dump.js';
import { log } from './log.js';
import { describeRoot, isTlsFailure, loadXdsRoot, type XdsTlsSettings } from './xds-tls.js';
import { liveSecretsEntry } from './admin/secrets-config-dump.js';
import type { WorkloadCertAgent } from './security/workload-cert-agent.js';
import { ROOT_SECRET, WORKLOAD_SECRET } from './security/secret-store.js';
import { startWorkers, workerCount } from './workers/primary.js';
import type { WorkerPool } from './workers/worker-pool.js';
import { xdsSnapshot } from './workers/config-snapshot.js';

export { defaultNodeCluster, localityFromLabels, nodeFromEnv } from './xds-node.js';

/** The workload certificate (see security/workload-cert-agent.ts), asked of the xDS server. */
export interface XdsIdentityOptions {
  /** The pod's token (Istio's projected istio-token, or the local mesh's). */
  readonly tokenFile: string;
  /** Requested lifetime in seconds (default 24 h). */
  readonly ttlSeconds?: number;
  /** Istio's ClusterID metadata. */
  readonly clusterId?: string;
  /** Retry timings after a failed request (default 1 s doubling to 30 s). */
  readonly retry?: { readonly initialMs?: number; readonly maxMs?: number };
}

export interface XdsModeOptions {
  /** host:port of the ADS server. */
  readonly server: string;
  /** TLS to the server (the root is read when the proxy starts); undefined: plain text. */
  readonly tls?: XdsTlsSettings;
  readonly node: XdsNode;
  readonly adminAddress: string;
  /** undefined: no admin server. */
  readonly adminPort: number | undefined;
  readonly healthAddress: string;
  readonly healthPort: number | undefined;
  /** Ports serving `/stats/prometheus` on the health address (the CLI's default: 15090). */
  readonly prometheusPorts?: readonly number[];
  /** The agent port on the health address (the CLI's default: 15020): /stats/prometheus and /app-health. */
  readonly agentPort?: number;
  /** The app probes the agent port performs (the CLI reads ISTIO_KUBE_APP_PROBERS). */
  readonly appProbers?: AppProbers;
  /** Where app probes go (the CLI reads INSTANCE_IP; default 127.0.0.1). */
  readonly podIp?: string;
  /** The app's metrics appended on the agent port (the CLI reads ISTIO_PROMETHEUS_ANNOTATIONS). */
  readonly appMetrics?: AppMetricsTarget;
  readonly drainTimeMs: number;
  /** Name servers for DNS clusters (`--dns-resolvers`); absent: the system's resolver. */
  readonly dnsResolvers?: readonly string[];
  /** Worker processes serving the listeners (`--concurrency`; absent or 1: this process; 0: one per core). */
  readonly concurrency?: number;
  /** Reconnect backoff (defaults 500 ms doubling to 15 s). */
  readonly backoff?: { readonly initialMs?: number; readonly maxMs?: number };
  readonly pendingTimeoutMs?: number;
  /** Obtain a workload certificate with this token; undefined: no identity (plain text only). */
  readonly identity?: XdsIdentityOptions;
}

/** A running proxy in xDS mode: the same handle, plus its xDS client. */
export interface RunningXdsProxy extends RunningProxy {
  readonly client: XdsClient;
  /** Keeps the workload certificate (with `identity`). */
  readonly identity?: WorkloadCertAgent;
}

/** The xDS config dump plus the proxy's secrets (rendered live), where Envoy puts them: before the endpoints. */
function withSecrets(dump: Record<string, unknown>, proxy: Proxy): Record<string, unknown> {
  const configs = [...(dump.configs as unknown[])];
  configs.splice(Math.max(0, configs.length - 1), 0, liveSecretsEntry(proxy.secrets));
  return { ...dump, configs };
}

/** Starts the admin and health servers, then the xDS client; resolves without waiting for a config. */
export async function startXdsProxy(opts: XdsModeOptions, onQuit?: () => void): Promise<RunningXdsProxy> {
  // A root that cannot be read or parsed stops the start, naming the file.
  const tls = opts.tls === undefined ? undefined : { rootPem: loadXdsRoot(opts.tls), serverName: opts.tls.serverName };
  const count = opts.concurrency === undefined ? 1 : workerCount(opts.concurrency);
  const proxy = new Proxy({ drainTimeMs: opts.drainTimeMs, dnsResolvers: opts.dnsResolvers, serveListeners: count === 1 });
  // With workers (forked once the side servers listen): they serve the listeners; each config
  // reaches them before this process takes it.
  let workers: WorkerPool | undefined;
  const client = new XdsClient({
    server: opts.server,
    tls,
    node: opts.node,
    log,
    backoff: opts.backoff,
    pendingTimeoutMs: opts.pendingTimeoutMs,
    // SDS (a gateway's credentialName): new handshakes take a changed secret (tls-material.ts).
    onSecrets: (secrets) => {
      for (const s of secrets) {
        const held = proxy.secrets.get(s.name);
        if (held?.certificateChain === s.certificateChain && held?.privateKey === s.privateKey && held?.trustedCa === s.trustedCa) continue;
        proxy.secrets.set(s.name, { certificateChain: s.certificateChain, privateKey: s.privateKey, trustedCa: s.trustedCa, lastUpdated: new Date() });
      }
    },
    onConfig: async ({ config, dump }) => {
      if (workers !== undefined) for (const l of await workers.apply(xdsSnapshot(dump, config.node))) log.debug({ listener: l.name, address: `${l.address}:${l.port}` }, 'listening');
      await proxy.apply(config, withSecrets(xdsConfigDump({ node: opts.node, server: opts.server }, dump), proxy));
      for (const l of proxy.listeners.values()) log.debug({ listener: l.config.name, address: `${l.config.address}:${l.port}` }, 'listening');
    },
  });
  proxy.configDump = withSecrets(xdsConfigDump({ node: opts.node, server: opts.server }, {}), proxy);
  // The X.509 library loads only for a proxy that asks for a certificate (it slows every start).
  const identity = opts.identity === undefined ? undefined : new (await import('./security/workload-cert-agent.js')).WorkloadCertAgent({ server: opts.server, tls, secrets: proxy.secrets, log, ...opts.identity });
  if (identity !== undefined) proxy.requiredSecrets = [WORKLOAD_SECRET, ROOT_SECRET];
  let side: SideServers | undefined;
  const stop = async (): Promise<void> => {
    identity?.stop();
    await client.close();
    await Promise.all([workers?.drain(opts.drainTimeMs + 2000), proxy.drain()]);
    side?.close();
  };
  const admin = opts.adminPort === undefined ? undefined : { address: opts.adminAddress, port: opts.adminPort };
  const health = opts.healthPort === undefined ? undefined : { address: opts.healthAddress, port: opts.healthPort };
  const prometheus = (opts.prometheusPorts ?? []).map((port) => ({ address: opts.healthAddress, port }));
  side = await startSideServers(proxy, admin, health, onQuit ?? (() => void stop()), prometheus, agentOf(opts.healthAddress, opts));
  try {
    if (count > 1) workers = await startWorkers(proxy, count);
  } catch (e) {
    side.close();
    throw e;
  }
  if (opts.tls !== undefined) {
    const t = opts.tls;
    client.on('disconnected', (err) => {
      if (isTlsFailure(err)) log.warn({ server: opts.server, serverName: t.serverName, root: t.rootFile, error: err?.message }, `xDS: TLS to the control plane failed: its certificate must chain to ${describeRoot(t)} and carry the name ${t.serverName}; retrying`);
    });
  }
  log.info({ server: opts.server, node: opts.node.id, tls: opts.tls === undefined ? 'off' : { serverName: opts.tls.serverName, root: opts.tls.rootFile } }, 'xDS: connecting');
  client.start();
  if (identity !== undefined) {
    log.info({ server: opts.server, token: opts.identity!.tokenFile, ttlSeconds: opts.identity!.ttlSeconds }, 'workload certificate: requesting');
    identity.start();
  }
  return { proxy, client, identity, adminPort: side.adminPort, healthPort: side.healthPort, prometheusPorts: side.prometheusPorts, agentPort: side.agentPort, stop };
}

export const XDS_DEFAULT_ADMIN_PORT = PORTS.admin;
