// A fleet of simulated Envoy sidecars for bench:xds, in one process: each is a real ADS stream
// (envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources, state of the
// world) with its own Istio node id, subscribing like Envoy (CDS and LDS wildcard, then the EDS
// and RDS names the clusters and listeners use) and ACKing every response at once. Nothing is
// compiled: only clusters and listeners are decoded, to find the EDS and RDS names, and only once
// per distinct version (a version is a digest of the content, so equal versions mean equal names).
//
//   node xds-fleet.js --server 127.0.0.1:15010 --proxies 1000 [--channels N]
//
// Talks JSON lines: events on stdout ({"type":"progress"|"synced"|"marked"|"converged"|"report"}),
// commands on stdin ({"cmd":"mark"|"report"|"quit"}). Times are process.hrtime (CLOCK_MONOTONIC,
// shared by every process of the machine) in nanoseconds, as strings.
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { decodeResource, TYPE_URL, type DiscoveryResponse } from '@minimesh/api';
import { ADS_METHOD_PATH, CDS, deserializeResponse, EDS, LDS, nodeMessage, RDS, serializeRequest, type DiscoveryRequestOut } from '@minimesh/xds';

type Call = grpc.ClientDuplexStream<DiscoveryRequestOut, DiscoveryResponse>;
type Packed = { type_url?: string; value?: Uint8Array };

export interface FleetProxyReport {
  id: string;
  /** RDS version ACKed before the change */
  baseline: string;
  /** the new RDS version ACKed, when converged */
  version: string | null;
  /** when the response with the new RDS version arrived, and when its ACK was written (ns) */
  recvNs: string | null;
  ackNs: string | null;
  /** first response of any type received after the mark (ns) */
  firstRecvNs: string | null;
  /** responses received after the mark, by short type name */
  afterMark: Record<string, number>;
}

export interface FleetReport {
  type: 'converged' | 'report';
  proxies: FleetProxyReport[];
  decodes: number;
}

const SHORT: Record<string, string> = { [CDS]: 'CDS', [EDS]: 'EDS', [LDS]: 'LDS', [RDS]: 'RDS' };

/** decoded names per type and version: a version is the content's digest, decode once */
const namesCache = new Map<string, string[]>();
let decodes = 0;

function edsNames(resources: readonly Packed[]): string[] {
  const out: string[] = [];
  for (const r of resources) {
    const c = decodeResource<{ name?: string; type?: string; eds_cluster_config?: { service_name?: string } }>(CDS, r.value ?? new Uint8Array());
    if (c.type === 'EDS') out.push(c.eds_cluster_config?.service_name || (c.name ?? ''));
  }
  return out.sort();
}

interface FilterChainLike {
  filters?: { typed_config?: Packed }[];
}

function rdsNames(resources: readonly Packed[]): string[] {
  const out = new Set<string>();
  for (const r of resources) {
    const l = decodeResource<{ filter_chains?: FilterChainLike[]; default_filter_chain?: FilterChainLike }>(LDS, r.value ?? new Uint8Array());
    const chains = [...(l.filter_chains ?? []), ...(l.default_filter_chain ? [l.default_filter_chain] : [])];
    for (const ch of chains) {
      for (const f of ch.filters ?? []) {
        if (f.typed_config?.type_url !== TYPE_URL.HttpConnectionManager) continue;
        const hcm = decodeResource<{ rds?: { route_config_name?: string } }>(TYPE_URL.HttpConnectionManager, f.typed_config.value ?? new Uint8Array());
        if (hcm.rds?.route_config_name) out.add(hcm.rds.route_config_name);
      }
    }
  }
  return [...out].sort();
}

function namesFor(typeUrl: string, version: string, resources: readonly Packed[]): string[] {
  const key = `${typeUrl}\0${version}`;
  let names = namesCache.get(key);
  if (names === undefined) {
    decodes++;
    names = typeUrl === CDS ? edsNames(resources) : rdsNames(resources);
    namesCache.set(key, names);
  }
  return names;
}

function sameList(a: readonly string[] | undefined, b: readonly string[]): boolean {
  return a !== undefined && a.length === b.length && a.every((x, i) => x === b[i]);
}

interface TypeState {
  acked: string;
  nonce: string;
  names: string[] | undefined;
}

class SimProxy {
  private call: Call | undefined;
  private nodeSent = false;
  private readonly types = new Map<string, TypeState>([CDS, EDS, LDS, RDS].map((t) => [t, { acked: '', nonce: '', names: undefined }]));
  synced = false;
  marked = false;
  baseline = '';
  version: string | null = null;
  recvNs: bigint | null = null;
  ackNs: bigint | null = null;
  firstRecvNs: bigint | null = null;
  afterMark: Record<string, number> = {};

  constructor(
    readonly id: string,
    private readonly labels: Record<string, string>,
    private readonly onSynced: (p: SimProxy) => void,
    private readonly onConverged: (p: SimProxy) => void,
    private readonly onError: (p: SimProxy, e: Error) => void,
  ) {}

  start(client: grpc.Client): void {
    const call = client.makeBidiStreamRequest(ADS_METHOD_PATH, serializeRequest, deserializeResponse) as Call;
    this.call = call;
    call.on('data', (resp: DiscoveryResponse) => this.onResponse(resp));
    call.on('error', (e: Error) => this.onError(this, e));
    call.on('end', () => undefined);
    this.send({ type_url: CDS, version_info: '', resource_names: [], response_nonce: '' });
    this.send({ type_url: LDS, version_info: '', resource_names: [], response_nonce: '' });
  }

  stop(): void {
    this.call?.cancel();
    this.call = undefined;
  }

  mark(): void {
    this.marked = true;
    this.baseline = this.types.get(RDS)!.acked;
  }

  private send(r: Omit<DiscoveryRequestOut, 'node'>): void {
    if (this.call === undefined) return;
    if (!this.nodeSent) {
      this.nodeSent = true;
      this.call.write({ ...r, node: nodeMessage({ id: this.id, cluster: 'bench', metadata: { LABELS: this.labels, NAMESPACE: 'default' } }) });
    } else {
      this.call.write(r);
    }
  }

  private onResponse(resp: DiscoveryResponse): void {
    const recv = process.hrtime.bigint();
    const typeUrl = resp.type_url ?? '';
    const version = resp.version_info ?? '';
    const nonce = resp.nonce ?? '';
    const st = this.types.get(typeUrl);
    if (st === undefined) {
      this.send({ type_url: typeUrl, version_info: '', resource_names: [], response_nonce: nonce, error_detail: { code: 12, message: `bench fleet does not handle ${typeUrl}` } });
      return;
    }
    if (this.marked) {
      this.firstRecvNs ??= recv;
      const k = SHORT[typeUrl];
      this.afterMark[k] = (this.afterMark[k] ?? 0) + 1;
    }
    st.nonce = nonce;
    st.acked = version;
    // ACK first (like Envoy, which ACKs CDS/LDS before asking for what they reference)
    this.send({ type_url: typeUrl, version_info: version, resource_names: st.names ?? [], response_nonce: nonce });
    if (typeUrl === RDS && this.marked && this.ackNs === null && version !== this.baseline) {
      this.ackNs = process.hrtime.bigint();
      this.recvNs = recv;
      this.version = version;
      this.onConverged(this);
    }
    if (typeUrl === CDS || typeUrl === LDS) {
      const dep = typeUrl === CDS ? EDS : RDS;
      const names = namesFor(typeUrl, version, (resp.resources ?? []) as Packed[]);
      const ds = this.types.get(dep)!;
      if (!sameList(ds.names, names)) {
        ds.names = names;
        this.send({ type_url: dep, version_info: ds.acked, resource_names: names, response_nonce: ds.nonce });
      }
    }
    this.checkSynced();
  }

  private checkSynced(): void {
    if (this.synced) return;
    const t = (u: string): TypeState => this.types.get(u)!;
    const done = (u: string): boolean => t(u).acked !== '';
    const depDone = (u: string): boolean => t(u).names !== undefined && (t(u).names!.length === 0 || done(u));
    if (done(CDS) && done(LDS) && depDone(EDS) && depDone(RDS)) {
      this.synced = true;
      this.onSynced(this);
    }
  }

  report(): FleetProxyReport {
    return {
      id: this.id,
      baseline: this.baseline,
      version: this.version,
      recvNs: this.recvNs?.toString() ?? null,
      ackNs: this.ackNs?.toString() ?? null,
      firstRecvNs: this.firstRecvNs?.toString() ?? null,
      afterMark: this.afterMark,
    };
  }
}

/** node id of simulated proxy i: sidecar~127.1.x.y~client-i.default~default.svc.cluster.local */
export function fleetNodeId(i: number): string {
  const n = i + 1;
  return `sidecar~127.1.${Math.floor(n / 250)}.${(n % 250) + 1}~client-${i}.default~default.svc.cluster.local`;
}

function emit(o: object): void {
  process.stdout.write(`${JSON.stringify(o)}\n`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      server: { type: 'string' },
      proxies: { type: 'string', default: '100' },
      channels: { type: 'string' },
      batch: { type: 'string', default: '100' },
    },
  });
  if (values.server === undefined) throw new Error('--server HOST:PORT is required');
  const count = Number(values.proxies);
  const channels = values.channels === undefined ? count : Math.max(1, Math.min(count, Number(values.channels)));
  const batch = Math.max(1, Number(values.batch));
  // grpc-js shares one connection among channels to the same target unless each has its own
  // subchannel pool: with it, every channel is its own TCP connection and HTTP/2 session.
  const clients = Array.from({ length: channels }, () => new grpc.Client(values.server!, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 }));
  const proxies: SimProxy[] = [];
  let synced = 0;
  let converged = 0;
  let errors = 0;
  let waitBatch: (() => void) | undefined;
  const report = (type: 'converged' | 'report'): void => emit({ type, proxies: proxies.map((p) => p.report()), decodes } satisfies FleetReport);
  const onSynced = (): void => {
    synced++;
    if (synced % batch === 0 || synced === count) waitBatch?.();
  };
  const onConverged = (): void => {
    if (++converged === count) report('converged');
  };
  let quitting = false;
  const onError = (p: SimProxy, e: Error): void => {
    if (quitting) return;
    if (++errors <= 5) process.stderr.write(`fleet: ${p.id}: stream error: ${e.message}\n`);
  };

  createInterface({ input: process.stdin }).on('line', (line) => {
    const cmd = (JSON.parse(line) as { cmd: string }).cmd;
    if (cmd === 'mark') {
      for (const p of proxies) p.mark();
      emit({ type: 'marked' });
    } else if (cmd === 'report') {
      report('report');
    } else if (cmd === 'quit') {
      quitting = true;
      for (const p of proxies) p.stop();
      for (const c of clients) c.close();
      setTimeout(() => process.exit(0), 100);
    }
  });

  const started = process.hrtime.bigint();
  // connect in batches: a batch's proxies all synced before the next batch connects
  for (let i = 0; i < count; i += batch) {
    const wait = new Promise<void>((r) => (waitBatch = r));
    for (let j = i; j < Math.min(count, i + batch); j++) {
      const p = new SimProxy(fleetNodeId(j), { app: 'client', version: 'v1' }, onSynced, onConverged, onError);
      proxies.push(p);
      p.start(clients[j % channels]);
    }
    await wait;
    emit({ type: 'progress', connected: proxies.length, synced, errors });
  }
  emit({ type: 'synced', proxies: count, channels, errors, syncMs: Number(process.hrtime.bigint() - started) / 1e6, decodes });
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e: Error) => {
    process.stderr.write(`fleet: ${e.stack ?? e.message}\n`);
    process.exit(1);
  });
}

/** the node id's shape as the control plane parses it (TYPE~IP~POD.NAMESPACE~DOMAIN), for tests */
export function parseNodeIdForTest(id: string): boolean {
  const parts = id.split('~');
  return parts.length === 4 && parts[0] === 'sidecar' && /^127\.1\.\d+\.\d+$/.test(parts[1]) && /^client-\d+\.default$/.test(parts[2]) && parts[3] === 'default.svc.cluster.local';
}
