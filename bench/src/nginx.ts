// nginx as the yardstick: one worker, keep-alive pool to the upstream, no access log.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { childrenOf } from './proc-stats.js';
import { spawnPinned, stop, waitFor200, type Pinned } from './processes.js';
import { sleep } from './stats.js';

const CANDIDATES = ['nginx', '/usr/sbin/nginx'];

export interface NginxBinary {
  path: string;
  version: string;
}

export function findNginx(): NginxBinary | null {
  for (const path of CANDIDATES) {
    const r = spawnSync(path, ['-v'], { encoding: 'utf8' });
    if (r.error) continue;
    const m = /nginx\/(\S+)/.exec(`${r.stderr ?? ''}${r.stdout ?? ''}`);
    return { path, version: m ? m[1] : 'unknown' };
  }
  return null;
}

export function nginxConf(dir: string, listenPort: number, upstreamPort: number): string {
  return `# written by minimesh bench
worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events {
  worker_connections 4096;
}
http {
  access_log off;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  keepalive_requests 1000000;
  keepalive_timeout 120s;
  upstream bench_upstream {
    server 127.0.0.1:${upstreamPort};
    keepalive 64;
    keepalive_requests 1000000;
  }
  server {
    listen 127.0.0.1:${listenPort};
    location / {
      proxy_pass http://bench_upstream;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
`;
}

export interface RunningNginx {
  master: Pinned;
  /** the single worker process: the one measured */
  workerPid: number;
  port: number;
  stop(): Promise<void>;
}

export async function startNginx(bin: NginxBinary, cpu: string, dir: string, listenPort: number, upstreamPort: number): Promise<RunningNginx> {
  mkdirSync(dir, { recursive: true });
  const conf = join(dir, 'nginx.conf');
  writeFileSync(conf, nginxConf(dir, listenPort, upstreamPort));
  const master = spawnPinned(cpu, bin.path, ['-p', dir, '-c', conf, '-e', join(dir, 'error.log')], join(dir, 'nginx.out'));
  await waitFor200(`http://127.0.0.1:${listenPort}/`, master, 10_000, 'nginx');
  let workers: number[] = [];
  for (let i = 0; i < 50 && workers.length === 0; i++) {
    workers = childrenOf(master.pid);
    if (workers.length === 0) await sleep(20);
  }
  if (workers.length !== 1) throw new Error(`expected one nginx worker, found ${workers.length}`);
  return {
    master,
    workerPid: workers[0],
    port: listenPort,
    stop: () => stop(master, 'SIGTERM'),
  };
}
