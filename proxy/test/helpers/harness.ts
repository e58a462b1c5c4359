/**
 * Test harness for the proxy's behaviour tests: everything runs on real sockets on
 * loopback. A bootstrap is built from a small options object, written to a temp dir and
 * started in-process with `startProxy`; upstreams are raw `net` servers that record the
 * exact bytes they receive and answer (or fail) as each test says; clients are
 * `node:http` requests or raw sockets that send exact bytes.
 *
 * Not a test file (tap only runs `*.test.js`).
 */
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startProxy, type RunningProxy } from '../../src/main.js';
import { log } from '../../src/log.js';

log.level = 'warn';

import type { TestLike } from './test-like.js';
import { rawExchange, request, sleep, type RawOpts, type RawResult, type RequestOpts, type Resp } from './test-client.js';

export type { TestLike } from './test-like.js';
export * from './test-upstream.js';
export * from './test-client.js';

const HCM_TYPE = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const ROUTER_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router';
const FILE_LOG_TYPE = 'type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog';

export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'minimesh-test-'));
}

// ---------------------------------------------------------------------------------------
// Bootstrap

export interface ClusterSpec {
  /** Endpoint ports on 127.0.0.1 (or full addresses). */
  endpoints: (number | { address: string; port: number })[];
  /** Default 0.25s. */
  connect_timeout?: string;
  /** More Envoy Cluster fields (lb_policy, per_connection_buffer_limit_bytes, ...). */
  extra?: Record<string, unknown>;
}

export interface ProxySpec {
  /** Envoy virtual_hosts (JSON form). Default: one vhost `*` with `routes`. */
  virtualHosts?: unknown[];
  /** Routes of the default `*` virtual host. */
  routes?: unknown[];
  /** Cluster name -> endpoint ports, or a full spec. */
  clusters?: Record<string, number[] | ClusterSpec>;
  /** More HttpConnectionManager fields (use_remote_address, server_name, ...). */
  hcm?: Record<string, unknown>;
  /** Route configuration level fields (request_headers_to_add, ...). */
  routeConfig?: Record<string, unknown>;
  /** Access log to a file in the temp dir (default true). */
  accessLog?: boolean;
  /** Start the health server on a free port. */
  health?: boolean;
  drainTimeMs?: number;
  /** The bootstrap's node (default: a sidecar `test.default`). */
  node?: Record<string, unknown>;
  /** More Listener fields (traffic_direction, ...). */
  listener?: Record<string, unknown>;
  /** Name servers for DNS clusters (the proxy's --dns-resolvers). */
  dnsResolvers?: string[];
}

/** A route to a cluster: `route('/a', 'a', { timeout: '1s' })`. */
export function route(prefix: string, cluster: string, action: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { match: { prefix }, route: { cluster, timeout: '2s', ...action }, ...extra };
}

/** Builds the bootstrap as an object (JSON is YAML, so it is written as is). */
export function buildBootstrap(spec: ProxySpec, accessLogPath: string | undefined, listenerPort = 0, adminPort = 0): Record<string, unknown> {
  const virtual_hosts = spec.virtualHosts ?? [{ name: 'default', domains: ['*'], routes: spec.routes ?? [] }];
  const hcm: Record<string, unknown> = {
    '@type': HCM_TYPE,
    stat_prefix: 'test',
    route_config: { name: 'test_routes', virtual_hosts, ...spec.routeConfig },
    http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': ROUTER_TYPE } }],
    ...spec.hcm,
  };
  if (accessLogPath !== undefined) {
    hcm.access_log = [{ name: 'envoy.access_loggers.file', typed_config: { '@type': FILE_LOG_TYPE, path: accessLogPath } }];
  }
  const clusters = Object.entries(spec.clusters ?? {}).map(([name, c]) => {
    const cs: ClusterSpec = Array.isArray(c) ? { endpoints: c } : c;
    return {
      name,
      type: 'STATIC',
      connect_timeout: cs.connect_timeout ?? '0.25s',
      lb_policy: 'ROUND_ROBIN',
      load_assignment: {
        cluster_name: name,
        endpoints: [
          {
            lb_endpoints: cs.endpoints.map((e) => {
              const a = typeof e === 'number' ? { address: '127.0.0.1', port: e } : e;
              return { endpoint: { address: { socket_address: { address: a.address, port_value: a.port } } } };
            }),
          },
        ],
      },
      ...cs.extra,
    };
  });
  return {
    node: spec.node ?? { id: 'sidecar~127.0.0.1~test.default~default.svc.cluster.local', cluster: 'test' },
    admin: { address: { socket_address: { address: '127.0.0.1', port_value: adminPort } } },
    static_resources: {
      listeners: [
        {
          name: 'listener_test',
          address: { socket_address: { address: '127.0.0.1', port_value: listenerPort } },
          filter_chains: [{ filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: hcm }] }],
          ...spec.listener,
        },
      ],
      clusters,
    },
  };
}

/** Writes a bootstrap to a temp dir and returns its path. */
export function writeBootstrap(dir: string, bootstrap: unknown, name = 'bootstrap.yaml'): string {
  const file = join(dir, name);
  writeFileSync(file, typeof bootstrap === 'string' ? bootstrap : JSON.stringify(bootstrap, null, 2));
  return file;
}

/** One line of the default JSON access log. */
export interface AccessLine {
  method: string;
  path: string;
  response_code: number;
  response_flags: string;
  response_code_details: string;
  upstream_service_time: string;
  upstream_host: string;
  upstream_cluster: string;
  request_id: string;
  [k: string]: unknown;
}

export interface TestProxy {
  readonly running: RunningProxy;
  readonly port: number;
  readonly adminPort: number;
  readonly healthPort: number | undefined;
  readonly dir: string;
  /** Waits until the access log has at least `n` lines and returns them all. */
  accessLog(n?: number, timeoutMs?: number): Promise<AccessLine[]>;
  request(opts?: RequestOpts): Promise<Resp>;
  raw(bytes: string | Buffer, opts?: RawOpts): Promise<RawResult>;
}

/** Starts a proxy on the spec; stopped (drained) at teardown. */
export async function startTestProxy(t: TestLike, spec: ProxySpec): Promise<TestProxy> {
  const dir = tempDir();
  const logPath = spec.accessLog === false ? undefined : join(dir, 'access.log');
  const file = writeBootstrap(dir, buildBootstrap(spec, logPath));
  const running = await startProxy({ bootstrap: file, healthPort: spec.health ? 0 : undefined, healthAddress: '127.0.0.1', drainTimeMs: spec.drainTimeMs ?? 200, dnsResolvers: spec.dnsResolvers });
  t.teardown(() => running.stop());
  const port = running.proxy.listeners.values().next().value!.port;
  return {
    running,
    port,
    adminPort: running.adminPort!,
    healthPort: running.healthPort,
    dir,
    accessLog: async (n = 1, timeoutMs = 3000) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const text = logPath !== undefined && existsSync(logPath) ? readFileSync(logPath, 'utf8') : '';
        const lines = text.split('\n').filter((l) => l !== '');
        if (lines.length >= n || Date.now() > deadline) return lines.map((l) => JSON.parse(l) as AccessLine);
        await sleep(20);
      }
    },
    request: (opts) => request(port, opts),
    raw: (bytes, opts) => rawExchange(t, port, bytes, opts),
  };
}
