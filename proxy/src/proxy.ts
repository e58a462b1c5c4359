/**
 * The proxy process: listeners, clusters, stats, the admin and health servers, and the
 * drain on SIGTERM. A config (from a bootstrap now, from xDS later) is applied whole:
 * clusters first (so routes never point at a cluster that is not there), then listeners.
 */
import { rbacRuns } from './security/rbac-filter.js';
import { jwtAuthnRun } from './security/jwt/jwt-filter.js';
import { faultRun } from './http/fault-filter.js';
import { CodecStats } from './http/codec/underscore-headers.js';
import { corsStats } from './http/cors-filter.js';
import type { RuntimeConfig } from '@minimesh/config/runtime';
import { ENVOY_SERVER_NAME, MINIMESH_VERSION } from '@minimesh/mesh';
import { ClusterManager } from './upstream/cluster-manager.js';
import { StatsRegistry } from './observability/stats.js';
import { AccessLogWriter, flushAccessLogs } from './observability/access-log.js';
import { Listener } from './listener.js';
import { TcpProxyListener } from './tcp/tcp-proxy-listener.js';
import { SecretStore } from './security/secret-store.js';
import { ChainListener } from './tls/chain-listener.js';
import { findVirtualListener } from './tcp/virtual-listener.js';
import type { HcmContext, ProxyState } from './http/hcm-context.js';
import { log } from './log.js';
import { IstioMetrics } from './observability/istio/istio-metrics.js';
import { peerFromNodeMetadata } from './observability/istio/workload-peer.js';
import type { StatsView } from './observability/stats-view.js';
import { drainListeners } from './admin/drain-listeners.js';


export interface ProxyOptions {
  /** How long in-flight requests may take to finish after SIGTERM (Envoy's --drain-time-s). */
  readonly drainTimeMs: number;
  /** Name servers (`host[:port]`) for STRICT_DNS / LOGICAL_DNS clusters; absent: the system's resolver. */
  readonly dnsResolvers?: readonly string[];
  /**
   * false: the primary process of `--concurrency N` (workers/): it keeps the clusters and the
   * config for the admin API, its workers run the listeners.
   */
  readonly serveListeners?: boolean;
}

export class Proxy implements ProxyState {
  draining = false;
  readonly stats = new StatsRegistry();
  /** TLS secrets (`default`, `ROOTCA`) for listeners and clusters that use TLS. */
  readonly secrets = new SecretStore();
  readonly clusters = new ClusterManager(this.stats, this.secrets);
  /** Istio's standard metrics (filled by listeners with `istio.stats`). */
  readonly istio = new IstioMetrics(MINIMESH_VERSION);
  readonly listeners = new Map<string, Listener | TcpProxyListener | ChainListener>();
  config: RuntimeConfig | undefined;
  /** The config as Envoy JSON, for /config_dump. */
  configDump: unknown = {};
  /** When the current config was applied. */
  lastUpdated = new Date();
  /** A first config was applied. */
  private configApplied = false;
  /**
   * Secrets the proxy must hold before it is ready (the workload certificate `default` and
   * `ROOTCA` when it asked the CA for one): as Envoy's clusters and listeners warm until their
   * SDS secrets arrive, a sidecar does not report ready, and is not sent traffic, before it can
   * speak mutual TLS (a first request without a client certificate fails its handshake).
   */
  requiredSecrets: readonly string[] = [];

  /** LIVE: a config is applied and the required secrets are held. */
  get ready(): boolean {
    return this.configApplied && this.requiredSecrets.every((n) => this.secrets.get(n) !== undefined);
  }
  /** What /stats and /stats/prometheus serve (the primary of `--concurrency N` sums its workers'). */
  statsView: StatsView = {
    text: (filter) => Promise.resolve(this.stats.renderText(filter)),
    prometheus: () => Promise.resolve(this.prometheusText()),
  };

  /** The listeners served, as bound (the primary of `--concurrency N`: as its workers bound them). */
  boundListeners = (): { name: string; address: string; port: number }[] => [...this.listeners.values()].map((l) => ({ name: l.config.name, address: l.config.address, port: l.port }));

  /** `POST /drain_listeners`: the listeners stop accepting (the primary of `--concurrency N`: its workers'). */
  drainListeners = (inboundOnly: boolean): void => void drainListeners(this.listeners.values(), inboundOnly);

  constructor(readonly options: ProxyOptions) {
    if (options.dnsResolvers !== undefined) this.clusters.setDnsResolvers(options.dnsResolvers);
  }

  /** Applies a whole config: clusters, then listeners (new ones start listening). */
  async apply(config: RuntimeConfig, dump: unknown): Promise<void> {
    if (config.node.id !== this.istio.localId) this.istio.setLocal(peerFromNodeMetadata(config.node.metadata, config.node.id), config.node.id);
    this.clusters.update(config.clusters);
    const names = new Set(this.options.serveListeners === false ? [] : config.listeners.map((l) => l.name));
    // Listeners that are gone stop accepting first (which also frees their ports).
    for (const [name, l] of this.listeners) {
      if (!names.has(name)) {
        this.listeners.delete(name);
        this.retire(l);
      }
    }
    for (const l of this.options.serveListeners === false ? [] : config.listeners) {
      const existing = this.listeners.get(l.name);
      if (l.filterChains !== undefined) {
        // Chains picked per connection (matches, TLS): tls/chain-listener.ts.
        if (existing instanceof ChainListener && existing.config.address === l.address && existing.config.port === l.port && existing.config.bindToPort === l.bindToPort) {
          existing.update(l);
          continue;
        }
        if (existing !== undefined) this.retire(existing);
        const cl = new ChainListener(l, { proxy: this, secrets: this.secrets, clusters: this.clusters, istio: this.istio, stats: this.stats, context: (h) => this.context(h) });
        await cl.listen();
        this.listeners.set(l.name, cl);
        continue;
      }
      const tcp = l.tcpProxy !== undefined ? { tcpProxy: l.tcpProxy, clusters: this.clusters, istio: this.istio, rbac: rbacRuns(l.tcpProxy.rbac, this.stats) } : undefined;
      if (tcp !== undefined) this.istio.enabled ||= l.tcpProxy!.stats !== undefined;
      if (existing !== undefined && !(existing instanceof ChainListener) && existing.config.address === l.address && existing.config.port === l.port && (existing instanceof TcpProxyListener) === (tcp !== undefined)) {
        existing.config = l;
        if (existing instanceof TcpProxyListener) existing.ctx = tcp!;
        else existing.ctx = this.context(l.hcm!);
        continue;
      }
      if (existing !== undefined) this.retire(existing);
      const listener = tcp !== undefined ? new TcpProxyListener(l, tcp) : new Listener(l, this.context(l.hcm!), this);
      await listener.listen();
      this.listeners.set(l.name, listener);
    }
    this.config = config;
    this.configDump = dump;
    this.lastUpdated = new Date();
    this.configApplied = true;
  }

  /**
   * A listener that was removed or moved: it stops accepting, its connections close after
   * the response in flight, and whatever is left closes after the drain time. Never awaited,
   * so a long-lived client cannot hold up the next config.
   */
  private retire(l: Listener | TcpProxyListener | ChainListener): void {
    void l.drain();
    setTimeout(() => l.closeAll(), this.options.drainTimeMs).unref();
  }

  private context(hcm: NonNullable<RuntimeConfig['listeners'][number]['hcm']>): HcmContext {
    return {
      hcm,
      stats: this.stats.httpScope(hcm.statPrefix),
      clusters: this.clusters,
      accessLog: new AccessLogWriter(hcm.accessLogs),
      serverName: hcm.serverName || ENVOY_SERVER_NAME,
      istio: this.istio,
      istioStats: hcm.telemetry.stats === undefined ? undefined : this.istio.httpScope(hcm.telemetry.stats),
      rbac: rbacRuns(hcm.rbacFilters, this.stats),
      jwt: jwtAuthnRun(hcm.jwtAuthn, this.stats, hcm.statPrefix),
      fault: faultRun(hcm.fault, this.stats, hcm.statPrefix),
      ...(hcm.headersWithUnderscores !== undefined ? { codecStats: { http1: this.stats.rbacScope('http1.', () => new CodecStats()), http2: this.stats.rbacScope('http2.', () => new CodecStats()) } } : {}),
      cors: corsStats(hcm.cors, this.stats, hcm.statPrefix),
    };
  }

  /** The `bind_to_port: false` listener for `address:port` (tcp/virtual-listener.ts). */
  readonly virtualListener = (address: string, port: number): ChainListener | undefined =>
    findVirtualListener([...this.listeners.values()].filter((l): l is ChainListener => l instanceof ChainListener), address, port);

  /** `/stats/prometheus`: Istio's standard metrics (when a listener records them), then Envoy's own. */
  prometheusText(): string {
    return this.istio.render() + this.stats.renderPrometheus();
  }

  /**
   * SIGTERM: stop accepting, let requests in flight finish (each response says
   * `connection: close`), then close what is left after the drain time.
   */
  async drain(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    this.stats.server.live = 0;
    log.info({ drainTimeMs: this.options.drainTimeMs }, 'draining: no new connections, waiting for requests in flight');
    const all = Promise.all([...this.listeners.values()].map((l) => l.drain()));
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), this.options.drainTimeMs);
    });
    const late = await Promise.race([all.then(() => false), timedOut]);
    clearTimeout(timer);
    if (late) {
      const open = [...this.listeners.values()].reduce((n, l) => n + l.activeConnections, 0);
      log.warn({ open }, 'drain time is over: closing the connections left');
      for (const l of this.listeners.values()) l.closeAll();
    }
    this.clusters.closeAll();
    flushAccessLogs();
  }
}
