// The ways the upstream is loaded, and how each is set up and torn down.
import { join } from 'node:path';
import type { MeshCertFiles } from './mesh-certs.js';
import type { HopMtls } from './mtls-bootstrap.js';
import { PROXY_NODE_FLAGS } from '@minimesh/mesh';
import { startNginx, type NginxBinary } from './nginx.js';
import { distProgram } from './paths.js';
import { spawnPinned, stop, waitFor200 } from './processes.js';
import { freePort } from './ports.js';
import { processTree } from './proc-stats.js';
import { startProxy, type RunningProxy } from './proxy.js';
import { readTlsCounters, type TlsCounters } from './tls-reuse.js';

export type ScenarioName = 'direct' | 'proxy1' | 'proxy2' | 'proxy2-mtls' | 'nginx' | 'pump';

export const ALL_SCENARIOS: readonly ScenarioName[] = ['direct', 'proxy1', 'proxy2', 'proxy2-mtls', 'nginx', 'pump'];

export const SCENARIO_LABEL: Record<ScenarioName, string> = {
  direct: 'direct',
  proxy1: '1 proxy',
  proxy2: '2 proxies',
  'proxy2-mtls': '2 proxies, mTLS',
  nginx: 'nginx',
  pump: 'Node byte pump',
};

export const SCENARIO_DESCRIPTION: Record<ScenarioName, string> = {
  direct: 'straight to the upstream',
  proxy1: 'through one minimesh proxy',
  proxy2: 'through two minimesh proxies in series (client sidecar → server sidecar)',
  'proxy2-mtls': 'through two minimesh proxies in series, mutual TLS between them (client sidecar →mTLS→ server sidecar)',
  nginx: 'through nginx (1 worker, keepalive 64 upstream pool)',
  pump: 'through a bare Node byte pump (one upstream connection per client connection, bytes piped untouched: the floor of a Node hop)',
};

/** proxy hops between the load generator and the upstream */
export const HOPS: Record<ScenarioName, number> = { direct: 0, proxy1: 1, proxy2: 2, 'proxy2-mtls': 2, nginx: 1, pump: 1 };

/** the scenarios whose two sidecars talk mutual TLS, and the plaintext scenario each is held against */
export const MTLS_PLAINTEXT: Partial<Record<ScenarioName, ScenarioName>> = { 'proxy2-mtls': 'proxy2' };

/** scenarios whose figures are held against the targets */
export const UNDER_TEST: readonly ScenarioName[] = ['proxy1', 'proxy2'];

export interface Environment {
  upstreamPort: number;
  cpuUnderTest: string;
  proxyCmd: readonly string[];
  nginx: NginxBinary | null;
  /** a fresh directory for this scenario run's files (bootstraps, logs, nginx prefix) */
  dir: string;
  /** when set, proxies run under `node --cpu-prof` writing into this directory */
  profileDir: string | null;
  /** give the proxies Istio's metrics filters (the hop next to the upstream as SERVER, the other as CLIENT) */
  istioMetrics?: boolean;
  /** the proxies speak HTTP/2 to the next hop (the h2 and gRPC rows; their listeners take h2c anyway) */
  upstreamHttp2?: boolean;
  /** the certificates of the mTLS scenario (made once per bench run, mesh-certs.ts) */
  meshCerts?: MeshCertFiles | null;
  /** the proxies' CPU list when it differs from cpuUnderTest (`--proxy-cpus`) */
  cpuProxy?: string;
  /** appended to each proxy's command line (`--concurrency N`) */
  proxyArgs?: readonly string[];
}

export interface ScenarioSetup {
  /** where the load generator connects */
  port: number;
  /** the processes measured for CPU and memory (proxies, or the nginx worker); empty for direct */
  measuredPids(): number[];
  /** mTLS scenarios: the link's handshake and connection counters from the sidecars' /stats */
  tlsCounters?: () => Promise<TlsCounters>;
  stop(): Promise<void>;
}

export async function setUp(name: ScenarioName, env: Environment): Promise<ScenarioSetup> {
  switch (name) {
    case 'direct':
      return { port: env.upstreamPort, measuredPids: () => [], stop: async () => {} };
    case 'proxy1':
    case 'proxy2':
    case 'proxy2-mtls': {
      const mtls = name === 'proxy2-mtls';
      if (mtls && (env.meshCerts === undefined || env.meshCerts === null)) throw new Error(`${name} needs the mesh certificates (Environment.meshCerts)`);
      const certs = env.meshCerts as MeshCertFiles;
      const started: RunningProxy[] = [];
      const stopAll = async (): Promise<void> => {
        await Promise.all(started.map((p) => p.stop()));
      };
      try {
        // the server sidecar next to the upstream first, then the client sidecar in front of it
        let next = env.upstreamPort;
        const names = name === 'proxy1' ? ['proxy'] : ['server-sidecar', 'client-sidecar'];
        for (const [i, hop] of names.entries()) {
          const side = env.istioMetrics === true ? (i === 0 ? 'SERVER' : 'CLIENT') : null;
          const tls: HopMtls | null = mtls ? { role: i === 0 ? 'server' : 'client', certs } : null;
          const p = await startProxy(env.proxyCmd, env.cpuProxy ?? env.cpuUnderTest, env.dir, hop, next, env.profileDir, side, env.upstreamHttp2 === true, tls, env.proxyArgs);
          started.push(p);
          next = p.ports.listen;
        }
        const [server, client] = started;
        return {
          port: next,
          measuredPids: () => started.flatMap((p) => processTree(p.proc.pid)),
          ...(mtls ? { tlsCounters: () => readTlsCounters({ adminPort: client.ports.admin }, { adminPort: server.ports.admin, listenPort: server.ports.listen }) } : {}),
          stop: stopAll,
        };
      } catch (err) {
        await stopAll();
        throw err;
      }
    }
    case 'pump': {
      const port = await freePort();
      const args = [...PROXY_NODE_FLAGS, ...(env.profileDir === null ? [] : ['--cpu-prof', `--cpu-prof-dir=${env.profileDir}`]), distProgram('byte-pump'), String(port), String(env.upstreamPort)];
      const proc = spawnPinned(env.cpuUnderTest, process.execPath, args, join(env.dir, 'byte-pump.log'));
      try {
        await waitFor200(`http://127.0.0.1:${port}/`, proc, 10_000, 'byte pump');
      } catch (err) {
        await stop(proc, 'SIGKILL');
        throw err;
      }
      return { port, measuredPids: () => [proc.pid], stop: () => stop(proc, 'SIGTERM') };
    }
    case 'nginx': {
      if (env.nginx === null) throw new Error('nginx is not installed');
      const ngx = await startNginx(env.nginx, env.cpuUnderTest, join(env.dir, 'nginx'), await freePort(), env.upstreamPort);
      return { port: ngx.port, measuredPids: () => [ngx.workerPid], stop: () => ngx.stop() };
    }
  }
}
