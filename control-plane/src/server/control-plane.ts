/**
 * The control plane (istiod's discovery part): a config source feeds the mesh model; on every
 * change (debounced: 100 ms quiet, 1 s at most) each connected proxy's resources are generated
 * for its identity, validated with the proxy's own compiler and installed as that proxy's
 * snapshot. The xDS server pushes only the types whose content changed (each type's version is
 * a short digest of its content). A new proxy gets its snapshot as soon as it connects.
 * Nothing a source delivers stops it: bad resources are reported once and skipped. On every
 * change the analyzers of `minimesh analyze` run too; each of their lines is printed once, and
 * again only after it went away and came back.
 */
import type http from 'node:http';
import type { KubeConfig } from '@kubernetes/client-node';
import type { KubeResource, ResourceIssue } from '@minimesh/kube';
import { compileXdsSnapshot, formatConfigErrors } from '@minimesh/config';
import { CDS, EDS, LDS, RDS, SDS, Snapshot, SnapshotCache, snapshotResourcesFromJson, XdsServer, type ProxySyncStatus } from '@minimesh/xds';
import { buildMeshModel } from '../model/build-mesh-model.js';
import type { MeshModel } from '../model/mesh-model.js';
import { proxyIdentity } from '../model/proxy-identity.js';
import { generateForProxy } from '../generate/generate-for-proxy.js';
import type { GenerateOptions } from '../generate/generate-options.js';
import { FolderSource } from '../sources/folder-source.js';
import { clientNodeTransport, KubeSource } from '../sources/kube-source.js';
import { analyzeLine, OnceReporter } from './analyze-line.js';
import { meshAnalysisLines } from './mesh-analysis.js';
import type { GeneratedForProxy } from './config-dump.js';
import { createDebugServer, CONTROL_PLANE_VERSION } from './debug-server.js';
import { DashboardRuntime } from './dashboard-runtime.js';
import { syncz } from './syncz.js';
import { DEFAULT_DEBOUNCE, PushDebouncer } from './push-debouncer.js';
import { OpenIdDiscovery } from '../security/openid-discovery.js';
import { podFromProxy } from './registered-pods.js';
import { inClusterOrDefaultKubeConfig } from '../kube/kube-api.js';
import { ControlPlaneMetrics } from './metrics.js';
import { createReadyServer } from './ready-server.js';
import { closeServer, listenOn } from './listen.js';
import { SecurityRuntime } from './security-runtime.js';
import { MeshConfigWatcher } from './mesh-config-watcher.js';
import type { MeshConfig } from '../model/mesh-config.js';
import { secretRefusal } from './secret-authorization.js';
import { generateOptionsFor, type ControlPlaneOptions } from './control-plane-options.js';


export type { ControlPlaneOptions, HostPort } from './control-plane-options.js';

interface ConnectedProxy {
  readonly nodeId: string;
  cluster: string;
  metadata: Readonly<Record<string, unknown>>;
  /** `node.locality` as the proxy sent it. */
  locality?: ProxySyncStatus['locality'];
  streams: number;
}

export class ControlPlane {
  readonly cache = new SnapshotCache();
  readonly xds: XdsServer;
  private debug: http.Server | undefined;
  private readyServer: http.Server | undefined;
  /** Certificates, the webhook server and the secure xDS port (see security-runtime.ts). */
  security: SecurityRuntime | undefined;
  readonly metrics = new ControlPlaneMetrics();
  private folder: FolderSource | undefined;
  private kube: KubeSource | undefined;
  private sourceResources: KubeResource[] = [];
  /** Local mode: the connected proxies standing for pods, as they connected (node id, metadata). */
  private readonly registered = new Map<string, Readonly<Record<string, unknown>>>();
  /** The pods derived from `registered` for the current model. */
  private registeredPods: KubeResource[] = [];
  private currentModel: MeshModel = buildMeshModel([]);
  private readonly proxies = new Map<string, ConnectedProxy>();
  private readonly generated = new Map<string, GeneratedForProxy>();
  /** Snapshots built for the current model, by content: proxies with identical config share one. */
  private readonly snapshots = new Map<string, Snapshot>();
  private readonly debouncer: PushDebouncer;
  /** `jwks_uri` of RequestAuthentication rules with only an issuer; a push follows each answer. */
  private readonly discovery = new OpenIdDiscovery({ onSettled: () => this.debouncer.trigger() });
  private readonly reporter: OnceReporter;
  private readonly print: (line: string) => void;
  private ready = false;
  private analysisScheduled = false;
  /** A source changed while starting (after the first model was built): push once ready. */
  private changedWhileStarting = false;
  /** Pushes done (one per debounced burst), for tests and /debug/model. */
  pushCount = 0;
  xdsPort = 0;
  debugPort = 0;
  dashboardPort = 0;
  readyPort = 0;
  private dashboard: DashboardRuntime | undefined;
  private meshWatcher: MeshConfigWatcher | undefined;

  constructor(readonly opts: ControlPlaneOptions) {
    this.print = opts.print ?? ((l) => process.stderr.write(`${l}\n`));
    this.reporter = new OnceReporter(this.print);
    this.debouncer = new PushDebouncer(() => this.pushAll(), opts.debounce ?? DEFAULT_DEBOUNCE);
    this.xds = new XdsServer({ cache: this.cache, controlPlaneId: 'minimesh-control-plane', refuse: secretRefusal(this.print) });
    this.xds.on('connect', (s) => this.onConnect(s));
    this.xds.on('disconnect', (s) => this.onDisconnect(s));
    this.xds.on('nack', (s, typeUrl, version, message) => {
      this.metrics.countReject(typeUrl);
      this.print(`proxy ${s.nodeId} rejected ${typeName(typeUrl)} version ${version}: ${message}`);
    });
    this.xds.on('send', (_s, typeUrl) => this.metrics.countPush(typeUrl));
  }

  get model(): MeshModel {
    return this.currentModel;
  }

  /** Config loaded and, where TLS ports or --kube ask for them, the certificates exist. */
  get isReady(): boolean {
    return this.ready && (this.security === undefined || !this.security.needed || this.security.ready);
  }

  get connectedProxies(): number {
    return this.proxies.size;
  }

  get secureXdsPort(): number {
    return this.security?.secureXdsPort ?? 0;
  }

  get webhookPort(): number {
    return this.security?.webhookPort ?? 0;
  }

  generatedFor(nodeId: string): GeneratedForProxy | undefined {
    return this.generated.get(nodeId);
  }

  generatedIds(): string[] {
    return [...this.generated.keys()];
  }

  /** The mesh config in use. */
  get meshConfig(): MeshConfig {
    return this.currentModel.meshConfig;
  }

  syncStatus(): ProxySyncStatus[] {
    return this.xds.syncStatus();
  }

  async start(): Promise<void> {
    let kubeConfig: KubeConfig | undefined;
    const onChange = (resources: KubeResource[]): void => {
      this.sourceResources = resources;
      if (this.ready) this.debouncer.trigger();
      else this.changedWhileStarting = true;
    };
    const onIssues = (issues: readonly ResourceIssue[]): void => this.reporter.report('source', issues.map(analyzeLine));
    if (this.opts.meshConfigFile !== undefined) {
      this.meshWatcher = new MeshConfigWatcher({ file: this.opts.meshConfigFile, print: this.print, onChange: () => onChange(this.sourceResources) });
      this.meshWatcher.start();
    }
    if (this.opts.source.kind === 'folder') {
      // A short re-scan delay (an editor writes a file in a few events); the push debounce
      // after it groups bursts of changes, as Istio's does.
      this.folder = new FolderSource(this.opts.source.dir, { onChange, onIssues, debounceMs: 10 });
      this.folder.start();
    } else {
      kubeConfig = this.opts.kubeConfig ?? (await inClusterOrDefaultKubeConfig());
      const onEvent = (k: { kind: string; apiVersion: string }, type: string): void => this.metrics.countKubeEvent(k.kind, k.apiVersion, type);
      this.kube = new KubeSource({ transport: await clientNodeTransport(kubeConfig), onChange, onIssues, onEvent });
      await this.kube.start();
    }
    this.changedWhileStarting = false;
    this.rebuildModel();
    this.xdsPort = await this.xds.listen(this.opts.xdsAddress.host, this.opts.xdsAddress.port);
    this.debug = createDebugServer(this);
    this.debugPort = await listenOn(this.debug, this.opts.debugAddress.host, this.opts.debugAddress.port, 'debug server');
    this.security = new SecurityRuntime({ opts: this.opts, xds: this.xds, kubeConfig, log: this.print, trustDomain: this.meshConfig.trustDomain, meshTrustDomain: () => this.meshConfig.trustDomain, meshProxyConcurrency: () => this.meshConfig.proxyConcurrency });
    const ready = this.opts.readyAddress;
    if (ready) {
      this.readyServer = createReadyServer(() => ({ ready: this.isReady, waitingFor: this.ready ? 'the certificates (see the log)' : 'the first config' }));
      this.readyPort = await listenOn(this.readyServer, ready.host, ready.port, 'ready server');
    }
    const dash = this.opts.dashboardAddress;
    if (dash && dash !== 'off') {
      this.dashboard = new DashboardRuntime({
        host: dash.host,
        port: dash.port,
        prometheusUrl: this.opts.prometheusUrl,
        scrapeIntervalMs: this.opts.scrapeIntervalMs,
        model: () => this.currentModel,
        syncz: () => syncz(this.syncStatus(), CONTROL_PLANE_VERSION),
        proxyIds: () => this.proxies.keys(),
        assets: this.opts.dashboardAssets,
      });
      this.dashboardPort = await this.dashboard.start();
    }
    this.ready = true;
    if (this.changedWhileStarting) this.debouncer.trigger();
    // Proxies on the plain port are served meanwhile; /ready waits for this.
    await this.security.start();
  }

  async stop(): Promise<void> {
    this.ready = false;
    this.debouncer.stop();
    this.discovery.stop();
    this.meshWatcher?.stop();
    this.folder?.stop();
    this.kube?.stop();
    await this.dashboard?.stop();
    await this.security?.stop();
    await closeServer(this.debug);
    await closeServer(this.readyServer);
    await this.xds.close(500);
  }

  /** Re-reads the folder now (tests; the watcher does it on its own). */
  rescan(): void {
    this.folder?.scan();
  }

  private generateOptions(): GenerateOptions {
    return generateOptionsFor(this.opts, this.currentModel, (issuer) => this.discovery.lookup(issuer));
  }

  private rebuildModel(): void {
    // Registered pods follow the source: their ports come from the Deployment as it is now,
    // and a Pod the source gained replaces the registered one.
    this.registeredPods = this.derivePods();
    this.currentModel = buildMeshModel([...this.sourceResources, ...this.registeredPods], { meshConfig: this.meshWatcher?.current });
    this.snapshots.clear();
    this.scheduleAnalysis();
  }

  /**
   * What `minimesh analyze` would say of the current resources, each line once until it goes
   * away and comes back: run off the push path, once for a burst of rebuilds.
   */
  private scheduleAnalysis(): void {
    if (this.analysisScheduled) return;
    this.analysisScheduled = true;
    setImmediate(() => {
      this.analysisScheduled = false;
      this.reporter.report('analysis', meshAnalysisLines(this.sourceResources, this.registeredPods), 'Resolved: ');
    });
  }

  private pushAll(): void {
    this.rebuildModel();
    this.pushCount++;
    for (const id of this.proxies.keys()) this.pushNode(id);
  }

  /** Generates, validates and installs one proxy's snapshot; on failure the last one stays. */
  private pushNode(nodeId: string): void {
    const p = this.proxies.get(nodeId);
    if (!p) return;
    const problems: string[] = [];
    try {
      const identity = proxyIdentity(nodeId, p.metadata, this.currentModel, p.locality);
      const generated = generateForProxy(this.currentModel, identity, this.generateOptions());
      for (const w of generated.warnings) problems.push(`Warning (proxy ${nodeId}) ${w}`);
      const res = generated;
      // Proxies with the same identity shape get byte-identical config: convert, validate and
      // encode it once per model (bench:xds: 1,000 proxies went from 3 s to under 1 s).
      const key = JSON.stringify([res.listeners, res.routes, res.clusters, res.endpoints, res.secrets ?? []]);
      let shared = this.snapshots.get(key);
      if (shared === undefined) {
        const typed = snapshotResourcesFromJson(res);
        const compiled = compileXdsSnapshot({ listeners: typed.listeners ?? [], routes: typed.routes ?? [], clusters: typed.clusters ?? [], endpoints: typed.endpoints ?? [] });
        if (!compiled.ok) throw new Error(`generated config does not compile, not pushed:\n${indent(formatConfigErrors(compiled.errors))}`);
        shared = Snapshot.create(typed, this.cache.getSnapshot(nodeId));
        this.snapshots.set(key, shared);
      }
      const snap = this.cache.setSnapshot(nodeId, shared);
      this.generated.set(nodeId, {
        nodeId,
        cluster: p.cluster,
        metadata: p.metadata,
        resources: res,
        versions: { CDS: snap.version(CDS), EDS: snap.version(EDS), LDS: snap.version(LDS), RDS: snap.version(RDS) },
        at: new Date().toISOString(),
      });
    } catch (e) {
      problems.push(`Error (proxy ${nodeId}) ${(e as Error).message}`);
    }
    this.reporter.report(`proxy ${nodeId}`, problems);
  }

  private onConnect(s: ProxySyncStatus): void {
    const known = this.proxies.get(s.nodeId);
    if (known) {
      known.streams++;
      known.cluster = s.cluster;
      known.metadata = s.metadata;
      known.locality = s.locality;
    } else {
      this.proxies.set(s.nodeId, { nodeId: s.nodeId, cluster: s.cluster, metadata: s.metadata, locality: s.locality, streams: 1 });
      this.print(`proxy connected: ${s.nodeId}`);
    }
    if (this.opts.local) {
      this.registered.set(s.nodeId, s.metadata);
      if (JSON.stringify(this.derivePods()) !== JSON.stringify(this.registeredPods)) {
        this.rebuildModel();
        this.debouncer.trigger(); // the other proxies learn the new endpoints
      }
    }
    this.pushNode(s.nodeId);
  }

  private onDisconnect(s: ProxySyncStatus): void {
    const p = this.proxies.get(s.nodeId);
    if (!p || --p.streams > 0) return;
    this.proxies.delete(s.nodeId);
    this.generated.delete(s.nodeId);
    this.cache.clearSnapshot(s.nodeId);
    this.reporter.forget(`proxy ${s.nodeId}`);
    this.print(`proxy disconnected: ${s.nodeId}`);
    if (this.registered.delete(s.nodeId)) this.debouncer.trigger();
  }

  /** Local mode: each registered proxy's pod, unless the source has that Pod already. */
  private derivePods(): KubeResource[] {
    const out: KubeResource[] = [];
    for (const [nodeId, metadata] of this.registered) {
      const pod = podFromProxy(nodeId, metadata, this.sourceResources);
      if (!pod) continue;
      const exists = this.sourceResources.some((r) => r.kind === 'Pod' && r.metadata.name === pod.metadata.name && (r.metadata.namespace ?? 'default') === pod.metadata.namespace);
      if (!exists) out.push(pod);
    }
    return out;
  }
}

function typeName(typeUrl: string): string {
  return typeUrl === CDS ? 'CDS' : typeUrl === EDS ? 'EDS' : typeUrl === LDS ? 'LDS' : typeUrl === RDS ? 'RDS' : typeUrl === SDS ? 'SDS' : typeUrl;
}

function indent(s: string): string {
  return s
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n');
}
