// Writing an Envoy v3 bootstrap for one proxy hop and running the proxy under test.
import { writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { PROXY_NODE_FLAGS } from '@minimesh/mesh';
import { downstreamTlsChainYaml, LISTENER_FILTERS_YAML, upstreamTlsYaml, type HopMtls } from './mtls-bootstrap.js';
import { cliOf } from './paths.js';
import { freePorts } from './ports.js';
import { spawnPinned, stop, waitFor200, type Pinned } from './processes.js';

export interface HopPorts {
  admin: number;
  listen: number;
  /** the next hop: another proxy's listener or the upstream */
  next: number;
}

/**
 * With Istio's metrics on, which side of the mesh a hop plays: SERVER = the sidecar in front of
 * the upstream (inbound, reporter=destination), CLIENT = the one in front of the caller (outbound,
 * reporter=source). Null: no Istio filters (the plain bootstrap).
 */
export type IstioSide = 'SERVER' | 'CLIENT' | null;

/** the node metadata Istio's injector gives a sidecar (its workload labels for the metrics) */
function istioNodeMetadata(name: string): string {
  return `  metadata:
    NAME: ${name}-0
    NAMESPACE: bench
    WORKLOAD_NAME: ${name}
    CLUSTER_ID: Kubernetes
    MESH_ID: cluster.local
    LABELS:
      app: ${name}
      version: v1
`;
}

/**
 * Istio's HTTP filters before the router, as the control plane writes them for a sidecar
 * (metadata exchange, then the stats filter): a proxy given these records istio_requests_total,
 * istio_request_duration_milliseconds, ... for every request.
 */
function istioFilters(side: 'SERVER' | 'CLIENT'): string {
  const dir = side === 'CLIENT' ? 'upstream' : 'downstream';
  return `                  - name: istio.metadata_exchange
                    typed_config:
                      "@type": type.googleapis.com/udpa.type.v1.TypedStruct
                      type_url: type.googleapis.com/io.istio.http.peer_metadata.Config
                      value:
                        ${dir}_discovery: [{ istio_headers: {} }, { workload_discovery: {} }]
                        ${dir}_propagation: [{ istio_headers: {} }]
                  - name: istio.stats
                    typed_config:
                      "@type": type.googleapis.com/udpa.type.v1.TypedStruct
                      type_url: type.googleapis.com/stats.PluginConfig
                      value:
                        disable_host_header_fallback: ${side === 'SERVER'}
`;
}

/** the cluster's upstream protocol options: HTTP/2 (h2c with prior knowledge) to the next hop */
const UPSTREAM_HTTP2 = `      typed_extension_protocol_options:
        envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
          "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
          explicit_http_config:
            http2_protocol_options: {}
`;

/**
 * A minimal static bootstrap: one HTTP listener routing everything to cluster `upstream` (with
 * Istio's metrics filters when `istio` is a side); the cluster speaks HTTP/1.1 to the next hop,
 * or HTTP/2 when `upstreamHttp2` (then the listener says `codec_type: AUTO`, HTTP/1.1 or h2c by
 * the first bytes: the default, written out; the HTTP/1.1 bootstrap stays as older builds take it).
 * `mtls`: the hop is one end of a mutual TLS link (mtls-bootstrap.ts): the client's cluster
 * speaks TLS to the next hop, the server's listener takes only mesh TLS.
 */
export function bootstrapYaml(name: string, p: HopPorts, istio: IstioSide = null, upstreamHttp2 = false, mtls: HopMtls | null = null): string {
  const server = mtls?.role === 'server' ? mtls : null;
  const client = mtls?.role === 'client' ? mtls : null;
  return `# written by minimesh bench (${name})
node:
  id: ${name}
  cluster: bench
${istio === null ? '' : istioNodeMetadata(name)}admin:
  address:
    socket_address:
      address: 127.0.0.1
      port_value: ${p.admin}
static_resources:
  listeners:
    - name: bench_listener
${istio === null ? '' : `      traffic_direction: ${istio === 'SERVER' ? 'INBOUND' : 'OUTBOUND'}\n`}      address:
        socket_address:
          address: 127.0.0.1
          port_value: ${p.listen}
${server === null ? '' : LISTENER_FILTERS_YAML}      filter_chains:
        - ${server === null ? '' : downstreamTlsChainYaml(server)}filters:
            - name: envoy.filters.network.http_connection_manager
              typed_config:
                "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
                stat_prefix: bench
${upstreamHttp2 ? '                codec_type: AUTO\n' : ''}                route_config:
                  name: bench_route
                  virtual_hosts:
                    - name: all
                      domains: ["*"]
                      routes:
                        - match:
                            prefix: "/"
                          route:
                            cluster: upstream
                http_filters:
${istio === null ? '' : istioFilters(istio)}                  - name: envoy.filters.http.router
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
  clusters:
    - name: upstream
      type: STATIC
      connect_timeout: 1s
${upstreamHttp2 ? UPSTREAM_HTTP2 : ''}${client === null ? '' : upstreamTlsYaml(client, p.next, upstreamHttp2)}      load_assignment:
        cluster_name: upstream
        endpoints:
          - lb_endpoints:
              - endpoint:
                  address:
                    socket_address:
                      address: 127.0.0.1
                      port_value: ${p.next}
`;
}

/**
 * The command line (before `proxy --bootstrap …`) that runs the proxy of the minimesh tree
 * rooted at `root`: this node, PROXY_NODE_FLAGS, ROOT/packages/cli/bin/minimesh.js. The
 * default proxy is this tree's; `--base` runs the base build's worktree with the same flags.
 */
export function proxyCommand(root: string): string[] {
  return [process.execPath, ...PROXY_NODE_FLAGS, cliOf(root)];
}

export interface RunningProxy {
  name: string;
  proc: Pinned;
  ports: HopPorts;
  bootstrapFile: string;
  stop(): Promise<void>;
}

/**
 * Start one hop: `<proxyCmd…> proxy --bootstrap FILE --health-port off`, pinned to `cpu`,
 * output to DIR/NAME.log; resolves when GET /ready on its admin port answers 200.
 * `upstreamHttp2`: the hop speaks HTTP/2 to `next` (the h2 and gRPC rows). `mtls`: one end of
 * the mTLS link of "2 proxies, mTLS".
 */
export async function startProxy(
  proxyCmd: readonly string[],
  cpu: string,
  dir: string,
  name: string,
  next: number,
  profileDir: string | null = null,
  istio: IstioSide = null,
  upstreamHttp2 = false,
  mtls: HopMtls | null = null,
  extraArgs: readonly string[] = [],
): Promise<RunningProxy> {
  const [admin, listen] = await freePorts(2);
  const ports: HopPorts = { admin, listen, next };
  const bootstrapFile = join(dir, `${name}.yaml`);
  writeFileSync(bootstrapFile, bootstrapYaml(name, ports, istio, upstreamHttp2, mtls));
  const [cmd, ...pre] = proxyCmd;
  if (profileDir !== null) {
    // node --cpu-prof writes DIR/CPU.<date>.<time>.<pid>…cpuprofile when the proxy exits (SIGTERM handler)
    if (!isNode(cmd)) throw new Error(`--profile needs a node proxy command, got ${cmd}`);
    pre.unshift('--cpu-prof', `--cpu-prof-dir=${profileDir}`);
  }
  const proc = spawnPinned(cpu, cmd, [...pre, 'proxy', '--bootstrap', bootstrapFile, '--health-port', 'off', ...extraArgs], join(dir, `${name}.log`));
  try {
    await waitFor200(`http://127.0.0.1:${ports.admin}/ready`, proc, 20_000, name);
  } catch (err) {
    await stop(proc, 'SIGKILL');
    throw err;
  }
  return { name, proc, ports, bootstrapFile, stop: () => stop(proc, 'SIGTERM') };
}

function isNode(cmd: string): boolean {
  return cmd === process.execPath || /^node(\.exe)?$/.test(basename(cmd));
}
