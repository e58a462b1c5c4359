/**
 * For the image test: `minimesh proxy` inside the built image on a small static bootstrap (one
 * listener, one route, one cluster pointing at an upstream on the host). Under chroot isolation
 * the container shares the host's network, so the host talks to it over loopback.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import { ISTIO_SERVER_NAME } from '@minimesh/mesh';

/** A free loopback port (closed again before use: a race a test machine can live with). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

export interface SeenRequest {
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
}

export const UPSTREAM_BODY = 'hello from the upstream on the host\n';

/** An HTTP server on the host that records what reaches it. */
export async function startUpstream(): Promise<{ port: number; seen: SeenRequest[]; close(): Promise<void> }> {
  const seen: SeenRequest[] = [];
  const server = http.createServer((req, res) => {
    seen.push({ url: req.url ?? '', headers: req.headers });
    res.writeHead(200, { 'content-type': 'text/plain' }).end(UPSTREAM_BODY);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return { port, seen, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

export interface BootstrapPorts {
  readonly listener: number;
  readonly admin: number;
  readonly upstream: number;
}

export const PROXY_NODE_ID = 'sidecar~127.0.0.1~image-test.default~default.svc.cluster.local';

/** An Envoy v3 bootstrap (JSON): 127.0.0.1:listener -> cluster "host-upstream" -> 127.0.0.1:upstream. */
export function staticBootstrap(p: BootstrapPorts): string {
  const socket = (port: number) => ({ socket_address: { address: '127.0.0.1', port_value: port } });
  return JSON.stringify({
    node: { id: PROXY_NODE_ID, cluster: 'image-test.default' },
    admin: { address: socket(p.admin) },
    static_resources: {
      listeners: [
        {
          name: 'image_test',
          address: socket(p.listener),
          filter_chains: [
            {
              filters: [
                {
                  name: 'envoy.filters.network.http_connection_manager',
                  typed_config: {
                    '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
                    stat_prefix: 'image_test',
                    server_name: ISTIO_SERVER_NAME,
                    route_config: {
                      name: 'image_test',
                      virtual_hosts: [{ name: 'all', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'host-upstream' } }] }],
                    },
                    http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } }],
                  },
                },
              ],
            },
          ],
        },
      ],
      clusters: [
        {
          name: 'host-upstream',
          type: 'STATIC',
          connect_timeout: '1s',
          load_assignment: { cluster_name: 'host-upstream', endpoints: [{ lb_endpoints: [{ endpoint: { address: socket(p.upstream) } }] }] },
        },
      ],
    },
  });
}

/** A long-running command (its own process group) and everything it printed. */
export interface Background {
  readonly child: ChildProcess;
  output(): string;
  exited(): boolean;
  stop(): Promise<void>;
}

export function startBackground(cmd: string, args: readonly string[], env: NodeJS.ProcessEnv): Background {
  const child = spawn(cmd, args, { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const out: string[] = [];
  child.stdout?.on('data', (c: Buffer) => out.push(c.toString('utf8')));
  child.stderr?.on('data', (c: Buffer) => out.push(c.toString('utf8')));
  let done = false;
  const closed = new Promise<void>((resolve) => child.on('close', () => ((done = true), resolve())));
  return {
    child,
    output: () => out.join(''),
    exited: () => done,
    async stop() {
      if (done || child.pid === undefined) return;
      process.kill(-child.pid, 'SIGTERM');
      const timer = setTimeout(() => !done && process.kill(-child.pid!, 'SIGKILL'), 10_000);
      await closed;
      clearTimeout(timer);
    },
  };
}

/** Polls a URL until it answers 200; fails early when `bg` exits. */
export async function waitForOk(url: string, bg: Background, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (bg.exited()) throw new Error(`the proxy exited before ${url} answered:\n${bg.output()}`);
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (r.status === 200) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > until) throw new Error(`${url} did not answer 200 within ${timeoutMs} ms; the proxy said:\n${bg.output()}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
