/**
 * `minimesh proxy`: runs the proxy on an Envoy v3 bootstrap (YAML or JSON).
 */
import { existsSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { isIP } from 'node:net';
import { parseBootstrap, toJsonData, TYPE_URL, type Bootstrap } from '@minimesh/api';
import { compileBootstrap } from '@minimesh/config';
import { formatConfigErrors, type RuntimeConfig } from '@minimesh/config/runtime';
import { istiodDnsNames, istiodSecureXdsAddress, PORTS, ROOT_CERT_CONFIGMAP } from '@minimesh/mesh';
import { Proxy } from './proxy.js';
import { agentOf, startSideServers, type SideServers } from './admin/side-servers.js';
import { configDump } from './admin/config-dump.js';
import { log } from './log.js';
import { APP_PROBERS_ENV, parseAppProbers, type AppProbers } from './admin/app-probers.js';
import { parseAppMetricsTarget, PROMETHEUS_ANNOTATIONS_ENV, type AppMetricsTarget } from './admin/app-metrics.js';
import type { XdsModeOptions } from './xds-mode.js';
import { nodeFromEnv } from './xds-node.js';
import { chooseXdsTls, MOUNTED_ROOT_FILE, type XdsTlsSettings } from './xds-tls.js';
import { ISTIO_TOKEN_FILE, parseTtlSeconds } from './security/workload-cert-options.js';
import { startWorkers, workerCount } from './workers/primary.js';
import type { WorkerPool } from './workers/worker-pool.js';

export const PROXY_USAGE = `Usage: minimesh proxy --bootstrap FILE [options]
       minimesh proxy --xds HOST:PORT [options]

Runs the sidecar / gateway proxy on an Envoy v3 bootstrap (YAML or JSON), or on the
config an xDS v3 server (ADS) pushes.

Options:
  -c, --bootstrap FILE     Envoy bootstrap: node, admin, static_resources
      --xds HOST:PORT      take the config from this ADS server: the control plane over TLS
                           (${istiodSecureXdsAddress()}) or a local one in plain text (:${PORTS.xds})
      --xds-ca FILE        TLS to the ADS server: the root certificate(s) (PEM) its certificate
                           must chain to; its name is checked against the host of --xds.
                           Default, when --xds is on port ${PORTS.xdsTls}: the root an injected pod
                           mounts from its namespace's ConfigMap ${ROOT_CERT_CONFIGMAP},
                           ${MOUNTED_ROOT_FILE}, if it exists; otherwise plain text.
                           The root is read at startup: a changed root (the ConfigMap updated)
                           is used once the proxy restarts
      --xds-server-name NAME  with TLS: the name the ADS server's certificate must carry, when
                           --xds dials an IP or a forwarded port (e.g. --xds 127.0.0.1:${PORTS.xdsTls}
                           --xds-server-name ${istiodDnsNames()[0]}); default: the host of --xds
      --ca-token-file FILE  with --xds: the pod's token, sent as "authorization: Bearer" to ask
                           the control plane (the --xds address) for the workload certificate
                           (Istio's CreateCertificate); the proxy makes its own key and CSR and
                           holds the result as secrets default and ROOTCA. Default:
                           ${ISTIO_TOKEN_FILE} (the injector's projected token) when it
                           exists; "off": no certificate
      --cert-ttl DURATION  the lifetime asked for (e.g. 24h, 90s; env SECRET_TTL; default 24h);
                           renewed at half of it
      --node-id ID         xDS node id (default TYPE~INSTANCE_IP~POD_NAME.POD_NAMESPACE~POD_NAMESPACE.svc.cluster.local)
      --node-cluster NAME  xDS node cluster (default: the workload name.POD_NAMESPACE)
      --type TYPE          sidecar (default) or router (gateways)
      --admin-port PORT    with --xds: admin API port (default ${PORTS.admin}; "off" to disable)
      --admin-address IP   with --xds: admin API address (default 127.0.0.1)
      --health-port PORT   readiness endpoint /healthz/ready on the health address (with --xds
                           default ${PORTS.health} as in an Istio pod; otherwise "off")
      --prometheus-ports P,Q  /stats/prometheus on the health address (with --xds default
                           ${PORTS.prometheus} as in an Istio pod; otherwise "off")
      --agent-port PORT    Istio's agent port on the health address: /stats/prometheus and
                           /app-health/<container>/<livez|readyz|startupz>, the app probes
                           in env ${APP_PROBERS_ENV}, sent to INSTANCE_IP, and the app's
                           metrics (env ${PROMETHEUS_ANNOTATIONS_ENV}) appended to its
                           /stats/prometheus (with --xds default ${PORTS.mergedMetrics}; otherwise "off")
      --health-address IP  address of those three (default 0.0.0.0)
      --concurrency N      worker processes serving the listeners (Envoy's --concurrency;
                           injected sidecars get 2). 1 (default): one process, as ever. N > 1:
                           this process keeps the admin API, the xDS client, the certificates
                           and one set of stats (the workers' summed); 0: one per core
      --drain-time-s N     after SIGTERM, how long requests in flight may take (default 5)
      --dns-resolvers A,B  name servers (IP[:PORT]) for STRICT_DNS/LOGICAL_DNS clusters
                           (default: the system's resolver, /etc/hosts included)
      --log-level LEVEL    trace, debug, info, warn, error (default info)
  -h, --help               this help
`;

export class UsageError extends Error {}

export interface ProxyCliOptions {
  bootstrap: string;
  healthPort: number | undefined;
  healthAddress: string;
  /** Ports serving `/stats/prometheus` on the health address. */
  prometheusPorts?: readonly number[];
  /** Istio's agent port on the health address: /stats/prometheus and /app-health (undefined: none). */
  agentPort?: number;
  /** The app probes the agent port performs (the CLI: env ISTIO_KUBE_APP_PROBERS). */
  appProbers?: AppProbers;
  /** Where app probes go (the CLI: env INSTANCE_IP; default 127.0.0.1). */
  podIp?: string;
  /** The app's metrics the agent port appends to /stats/prometheus (the CLI: env ISTIO_PROMETHEUS_ANNOTATIONS). */
  appMetrics?: AppMetricsTarget;
  drainTimeMs: number;
  /** --dns-resolvers: name servers for DNS clusters (absent: the system's resolver). */
  dnsResolvers?: readonly string[];
  /** --concurrency: worker processes (1 or absent: the proxy runs in this process; 0: one per core). */
  concurrency?: number;
  /** Set with --xds: the proxy's config comes from an ADS server (bootstrap is then ''). */
  xds?: XdsModeOptions;
}

/**
 * `mountedRoot`: where an injected pod's root certificate is looked for (the default TLS root
 * of an --xds address on port 15012); tests point it elsewhere.
 */
export function parseProxyArgs(argv: string[], mountedRoot: string = MOUNTED_ROOT_FILE): ProxyCliOptions | 'help' {
  const { values } = parseArgs({
    args: argv,
    options: {
      bootstrap: { type: 'string', short: 'c' },
      xds: { type: 'string' },
      'xds-ca': { type: 'string' },
      'xds-server-name': { type: 'string' },
      'node-id': { type: 'string' },
      'ca-token-file': { type: 'string' },
      'cert-ttl': { type: 'string' },
      'node-cluster': { type: 'string' },
      type: { type: 'string' },
      'admin-port': { type: 'string' },
      'admin-address': { type: 'string' },
      'health-port': { type: 'string' },
      'health-address': { type: 'string' },
      'prometheus-ports': { type: 'string' },
      'agent-port': { type: 'string' },
      'drain-time-s': { type: 'string' },
      concurrency: { type: 'string' },
      'dns-resolvers': { type: 'string' },
      'log-level': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) return 'help';
  if (values.bootstrap === undefined && values.xds === undefined) throw new UsageError('--bootstrap FILE is required (or --xds HOST:PORT)');
  if (values.bootstrap !== undefined && values.xds !== undefined) throw new UsageError('--bootstrap and --xds exclude each other');
  // Istio's pod ports (15021, 15020, 15090) are opened in xDS mode, or when a flag asks: a
  // bootstrap proxy listens where its bootstrap says and nowhere else, as Envoy does.
  const hp = values['health-port'] ?? (values.xds !== undefined ? String(PORTS.health) : 'off');
  let healthPort: number | undefined;
  if (hp !== 'off') {
    healthPort = Number(hp);
    if (!Number.isInteger(healthPort) || healthPort < 0 || healthPort > 65535) throw new UsageError(`--health-port: not a port: ${hp}`);
  }
  const drain = Number(values['drain-time-s'] ?? '5');
  if (!Number.isFinite(drain) || drain < 0) throw new UsageError(`--drain-time-s: not a number of seconds: ${values['drain-time-s']}`);
  if (values['log-level'] !== undefined) log.level = values['log-level'];
  const healthAddress = values['health-address'] ?? '0.0.0.0';
  // Prometheus endpoints: Istio's 15090 and the agent port 15020 in a pod (xDS mode).
  const ag = values['agent-port'] ?? (values.xds !== undefined ? String(PORTS.mergedMetrics) : 'off');
  let agentPort: number | undefined;
  if (ag !== 'off') {
    agentPort = Number(ag);
    if (!Number.isInteger(agentPort) || agentPort < 0 || agentPort > 65535) throw new UsageError(`--agent-port: not a port: ${ag}`);
  }
  const pp = values['prometheus-ports'] ?? (values.xds !== undefined ? String(PORTS.prometheus) : 'off');
  const listed = pp === 'off' ? [] : pp.split(',').map((p) => {
    const n = Number(p.trim());
    if (!Number.isInteger(n) || n < 0 || n > 65535) throw new UsageError(`--prometheus-ports: not a port: ${p}`);
    return n;
  });
  // The agent port serves /stats/prometheus itself (an old `--prometheus-ports 15090,15020`).
  const prometheusPorts = listed.filter((n) => n === 0 || n !== agentPort);
  const appProbers = agentPort === undefined ? undefined : parseAppProbers(process.env[APP_PROBERS_ENV]);
  const podIp = process.env.INSTANCE_IP || undefined;
  const appMetrics = agentPort === undefined ? undefined : parseAppMetricsTarget(process.env[PROMETHEUS_ANNOTATIONS_ENV]);
  const dnsResolvers = parseDnsResolvers(values['dns-resolvers']);
  const concurrency = parseConcurrency(values.concurrency);
  const agent = { agentPort, appProbers, podIp, appMetrics, ...(dnsResolvers ? { dnsResolvers } : {}), ...(concurrency !== 1 ? { concurrency } : {}) };
  if (values.xds === undefined) {
    for (const f of ['xds-ca', 'xds-server-name', 'ca-token-file', 'cert-ttl'] as const) if (values[f] !== undefined) throw new UsageError(`--${f} needs --xds HOST:PORT`);
    return { bootstrap: values.bootstrap!, healthPort, healthAddress, prometheusPorts, ...agent, drainTimeMs: drain * 1000 };
  }
  if (!/^.+:\d+$/.test(values.xds)) throw new UsageError(`--xds: expected HOST:PORT, got ${values.xds}`);
  if (values['xds-ca'] === '') throw new UsageError('--xds-ca: expected a file');
  if (values['xds-server-name'] === '') throw new UsageError('--xds-server-name: expected a DNS name');
  let tls: XdsTlsSettings | undefined;
  try {
    tls = chooseXdsTls(values.xds, { ca: values['xds-ca'], serverName: values['xds-server-name'] }, mountedRoot);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const type = values.type ?? 'sidecar';
  if (type !== 'sidecar' && type !== 'router') throw new UsageError(`--type: sidecar or router, got ${type}`);
  const ap = values['admin-port'] ?? String(PORTS.admin);
  const adminPort = ap === 'off' ? undefined : Number(ap);
  if (adminPort !== undefined && (!Number.isInteger(adminPort) || adminPort < 0 || adminPort > 65535)) throw new UsageError(`--admin-port: not a port: ${ap}`);
  const tokenFlag = values['ca-token-file'];
  if (tokenFlag === '') throw new UsageError('--ca-token-file: expected a file (or "off")');
  const tokenFile = tokenFlag === 'off' ? undefined : (tokenFlag ?? (existsSync(ISTIO_TOKEN_FILE) ? ISTIO_TOKEN_FILE : undefined));
  const ttlText = values['cert-ttl'] ?? (process.env.SECRET_TTL || undefined);
  const ttlSeconds = ttlText === undefined ? undefined : parseTtlSeconds(ttlText);
  if (ttlText !== undefined && ttlSeconds === undefined) throw new UsageError(`${values['cert-ttl'] !== undefined ? '--cert-ttl' : 'SECRET_TTL'}: expected a duration of at least 1s such as 24h or 90s, got ${JSON.stringify(ttlText)}`);
  if (values['cert-ttl'] !== undefined && tokenFile === undefined) throw new UsageError('--cert-ttl: no workload certificate is asked for (give --ca-token-file FILE)');
  const clusterId = process.env.ISTIO_META_CLUSTER_ID || undefined;
  const xds: XdsModeOptions = {
    ...(tokenFile !== undefined ? { identity: { tokenFile, ...(ttlSeconds !== undefined ? { ttlSeconds } : {}), ...(clusterId ? { clusterId } : {}) } } : {}),
    server: values.xds,
    tls,
    node: nodeFromEnv(type, { id: values['node-id'], cluster: values['node-cluster'] }),
    adminAddress: values['admin-address'] ?? '127.0.0.1',
    adminPort,
    healthAddress,
    healthPort,
    prometheusPorts,
    ...agent,
    drainTimeMs: drain * 1000,
  };
  return { bootstrap: '', healthPort, healthAddress, prometheusPorts, ...agent, drainTimeMs: drain * 1000, xds };
}

/** `--concurrency N`: 0 (one per core) to 128; default 1. */
function parseConcurrency(text: string | undefined): number {
  if (text === undefined) return 1;
  const n = Number(text);
  if (text.trim() === '' || !Number.isInteger(n) || n < 0 || n > 128) throw new UsageError(`--concurrency: expected a number of workers from 0 (one per core) to 128, got ${JSON.stringify(text)}`);
  return n;
}

/** `--dns-resolvers 10.0.0.10,127.0.0.1:5353`: IP addresses with optional ports. */
function parseDnsResolvers(text: string | undefined): string[] | undefined {
  if (text === undefined) return undefined;
  const list = text.split(',').map((s) => s.trim()).filter((s) => s !== '');
  for (const s of list) {
    const m = /^(?:\[([^\]]+)\]|([^:]+))(?::(\d+))?$/.exec(s);
    const ip = m?.[1] ?? m?.[2];
    if (!m || !ip || isIP(ip) === 0 || (m[3] !== undefined && (Number(m[3]) < 1 || Number(m[3]) > 65535))) throw new UsageError(`--dns-resolvers: not an IP[:PORT]: ${s}`);
  }
  if (list.length === 0) throw new UsageError('--dns-resolvers: expected IP[:PORT],...');
  return list;
}

/** Reads and compiles a bootstrap file; throws an Error listing every problem by path. */
export function loadBootstrap(file: string): { bootstrap: Bootstrap; config: RuntimeConfig; text: string } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`cannot read bootstrap ${file}: ${(e as Error).message}`);
  }
  const parsed = parseBootstrap(text, file);
  if (!parsed.ok) throw new Error(`invalid bootstrap ${file}:\n${indent(formatConfigErrors(parsed.errors))}`);
  const compiled = compileBootstrap(parsed.value);
  if (!compiled.ok) throw new Error(`invalid bootstrap ${file}:\n${indent(formatConfigErrors(compiled.errors))}`);
  for (const w of compiled.warnings ?? []) log.warn({ path: w.path }, w.message);
  return { bootstrap: parsed.value, config: compiled.value, text };
}

function indent(s: string): string {
  return s
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n');
}

/** A running proxy and how to stop it. */
export interface RunningProxy {
  readonly proxy: Proxy;
  /** The admin server's port (useful when the bootstrap says 0). */
  readonly adminPort: number | undefined;
  readonly healthPort: number | undefined;
  readonly prometheusPorts: readonly number[];
  readonly agentPort: number | undefined;
  /** Drains (as on SIGTERM) and closes the admin and health servers. */
  stop(): Promise<void>;
}

/** Starts a proxy from options; resolves once it serves. No signal handlers (see runProxy). */
export async function startProxy(opts: ProxyCliOptions, onQuit?: () => void): Promise<RunningProxy> {
  // Loaded only in xDS mode: a proxy on a static bootstrap never loads the xDS client (gRPC, protos).
  if (opts.xds !== undefined) return (await import('./xds-mode.js')).startXdsProxy(opts.xds, onQuit);
  const { bootstrap, config, text } = loadBootstrap(opts.bootstrap);
  const count = opts.concurrency === undefined ? 1 : workerCount(opts.concurrency);
  const proxy = new Proxy({ drainTimeMs: opts.drainTimeMs, dnsResolvers: opts.dnsResolvers, serveListeners: count === 1 });
  let side: SideServers | undefined;
  let workers: WorkerPool | undefined;
  const stop = async (): Promise<void> => {
    await Promise.all([workers?.drain(opts.drainTimeMs + 2000), proxy.drain()]);
    side?.close();
  };
  const health = opts.healthPort === undefined ? undefined : { address: opts.healthAddress, port: opts.healthPort };
  const prometheus = (opts.prometheusPorts ?? []).map((port) => ({ address: opts.healthAddress, port }));
  side = await startSideServers(proxy, config.admin, health, onQuit ?? (() => void stop()), prometheus, agentOf(opts.healthAddress, opts));
  try {
    // With workers: they bind the listeners (an error names the listener), then this process
    // takes the same config for the admin API.
    if (count > 1) workers = await startWorkers(proxy, count);
    const bound = await workers?.apply({ kind: 'bootstrap', file: opts.bootstrap, text });
    await proxy.apply(config, configDump(toJsonData(TYPE_URL.Bootstrap, bootstrap) as Record<string, unknown>));
    for (const l of bound ?? [...proxy.listeners.values()].map((x) => ({ name: x.config.name, address: x.config.address, port: x.port }))) log.info({ listener: l.name, address: `${l.address}:${l.port}` }, 'listening');
  } catch (e) {
    await stop();
    throw e;
  }
  return { proxy, adminPort: side.adminPort, healthPort: side.healthPort, prometheusPorts: side.prometheusPorts, agentPort: side.agentPort, stop };
}

/** Starts a proxy that drains and exits 0 on SIGTERM, SIGINT or POST /quitquitquit. */
export async function runProxy(opts: ProxyCliOptions): Promise<RunningProxy> {
  let quitting = false;
  let running: RunningProxy | undefined;
  const quit = (): void => {
    if (quitting || running === undefined) return;
    quitting = true;
    void running.stop().then(() => {
      log.info('drained, exiting');
      process.exit(0);
    });
  };
  running = await startProxy(opts, quit);
  process.on('SIGTERM', quit);
  process.on('SIGINT', quit);
  return running;
}

export async function proxyMain(argv: string[]): Promise<number> {
  // Nothing a client, an upstream or a config sends may take the sidecar down: an exception
  // that escapes an event handler is a minimesh bug, logged loudly, and the proxy serves on.
  process.on('uncaughtException', (err) => log.error({ err }, 'uncaught exception (a bug in minimesh): the proxy keeps serving'));
  let opts: ProxyCliOptions | 'help';
  try {
    opts = parseProxyArgs(argv);
  } catch (e) {
    process.stderr.write(`minimesh proxy: ${(e as Error).message}\n\n${PROXY_USAGE}`);
    return 2;
  }
  if (opts === 'help') {
    process.stdout.write(PROXY_USAGE);
    return 0;
  }
  try {
    await runProxy(opts);
  } catch (e) {
    process.stderr.write(`minimesh proxy: ${(e as Error).message}\n`);
    return 1;
  }
  return -1; // keeps running
}
