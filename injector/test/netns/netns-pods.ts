/**
 * Pods as Linux network namespaces, for the interception tests and the demo: two namespaces
 * joined by a veth pair (10.x addresses live only inside them), each app run as a uid other
 * than 1337 and each sidecar as 1337, the capture rules installed by `minimesh iptables`.
 * Nothing here sends traffic outside these namespaces or loopback.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const APP_UID = 1000;
export const PROXY_UID = 1337;

export interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export function run(cmd: string, args: readonly string[], input?: string): Run {
  const r = spawnSync(cmd, args, { encoding: 'utf8', input, timeout: 20_000 });
  return { code: r.status ?? (r.error ? 127 : 1), stdout: r.stdout ?? '', stderr: (r.stderr ?? '') + (r.error ? String(r.error.message) : '') };
}

export function must(cmd: string, args: readonly string[], input?: string): string {
  const r = run(cmd, args, input);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.code}): ${r.stderr.trim()}`);
  return r.stdout;
}

/** Why this machine cannot run the namespace tests, or undefined when it can. */
export function cannotRunNetns(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root (network namespaces and iptables need root)';
  for (const tool of ['ip', 'iptables', 'iptables-restore', 'iptables-save', 'setpriv', 'curl']) {
    if (run('sh', ['-c', `command -v ${tool}`]).code !== 0) return `${tool} is not installed (apt-get install iproute2 iptables util-linux curl)`;
  }
  const probe = `mmprobe${process.pid}`;
  const r = run('ip', ['netns', 'add', probe]);
  if (r.code !== 0) return `cannot create a network namespace: ${r.stderr.trim()}`;
  const ipt = run('ip', ['netns', 'exec', probe, 'iptables', '-t', 'nat', '-S']);
  run('ip', ['netns', 'del', probe]);
  if (ipt.code !== 0) return `iptables does not work in a network namespace: ${ipt.stderr.trim()}`;
  return undefined;
}

export interface NetnsPod {
  readonly name: string;
  readonly ns: string;
  readonly ip: string;
}

/** Runs a command inside a pod's namespace as `uid` (root when undefined). */
export function podArgs(pod: NetnsPod, uid: number | undefined, cmd: readonly string[]): string[] {
  const as = uid === undefined ? [] : ['setpriv', `--reuid=${uid}`, `--regid=${uid}`, '--clear-groups'];
  return ['netns', 'exec', pod.ns, ...as, ...cmd];
}

export function inPod(pod: NetnsPod, uid: number | undefined, cmd: readonly string[]): Run {
  return run('ip', podArgs(pod, uid, cmd));
}

export function spawnInPod(pod: NetnsPod, uid: number | undefined, cmd: readonly string[], logs: string[]): ChildProcess {
  const p = spawn('ip', podArgs(pod, uid, cmd), { stdio: ['ignore', 'pipe', 'pipe'] });
  const tag = `[${pod.name}${uid === PROXY_UID ? '/sidecar' : uid === undefined ? '' : '/app'}]`;
  p.stdout?.on('data', (d: Buffer) => logs.push(`${tag} ${d.toString().trimEnd()}`));
  p.stderr?.on('data', (d: Buffer) => logs.push(`${tag} ${d.toString().trimEnd()}`));
  return p;
}

/** Two pods on one link: client 10.77.<n>.1, echo 10.77.<n>.2 (+ .3, an address the mesh does not know). */
export class NetnsTopology {
  readonly client: NetnsPod;
  readonly echo: NetnsPod;
  /** A second address of the echo pod that no route names (for PassthroughCluster). */
  readonly echoUnknownIp: string;
  readonly dir: string;
  private readonly procs: ChildProcess[] = [];
  readonly logs: string[] = [];
  private readonly tag: string;

  constructor(tag = `${process.pid % 100000}`) {
    this.tag = tag;
    const n = (process.pid % 200) + 20;
    this.client = { name: 'client', ns: `mm-client-${tag}`, ip: `10.77.${n}.1` };
    this.echo = { name: 'echo', ns: `mm-echo-${tag}`, ip: `10.77.${n}.2` };
    this.echoUnknownIp = `10.77.${n}.3`;
    this.dir = mkdtempSync(join(tmpdir(), 'mm-netns-'));
    chmodSync(this.dir, 0o755);
  }

  create(): void {
    const { client, echo } = this;
    const vc = `mmc${this.tag}`.slice(0, 15);
    const ve = `mme${this.tag}`.slice(0, 15);
    must('ip', ['netns', 'add', client.ns]);
    must('ip', ['netns', 'add', echo.ns]);
    must('ip', ['link', 'add', vc, 'type', 'veth', 'peer', 'name', ve]);
    must('ip', ['link', 'set', vc, 'netns', client.ns]);
    must('ip', ['link', 'set', ve, 'netns', echo.ns]);
    for (const [pod, dev, addrs] of [
      [client, vc, [client.ip]],
      [echo, ve, [echo.ip, this.echoUnknownIp]],
    ] as const) {
      must('ip', ['-n', pod.ns, 'link', 'set', 'lo', 'up']);
      for (const a of addrs) must('ip', ['-n', pod.ns, 'addr', 'add', `${a}/24`, 'dev', dev]);
      must('ip', ['-n', pod.ns, 'link', 'set', dev, 'up']);
      // Apps bind :80 without root, as in a pod.
      must('ip', ['netns', 'exec', pod.ns, 'sysctl', '-qw', 'net.ipv4.ip_unprivileged_port_start=0']);
    }
  }

  writeFile(name: string, text: string): string {
    const f = join(this.dir, name);
    writeFileSync(f, text, { mode: 0o644 });
    return f;
  }

  start(pod: NetnsPod, uid: number | undefined, cmd: readonly string[]): ChildProcess {
    const p = spawnInPod(pod, uid, cmd, this.logs);
    this.procs.push(p);
    return p;
  }

  /** Stops what it started and deletes the namespaces (the veth pair goes with them). */
  destroy(): void {
    for (const p of this.procs) if (p.exitCode === null && p.pid) {
      try {
        p.kill('SIGKILL');
      } catch {
        /* gone */
      }
    }
    // `ip netns exec` forks: kill whatever still runs inside the namespaces.
    for (const pod of [this.client, this.echo]) {
      const pids = run('ip', ['netns', 'pids', pod.ns]).stdout.split(/\s+/).filter(Boolean);
      for (const pid of pids) run('kill', ['-9', pid]);
      run('ip', ['netns', 'del', pod.ns]);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export async function waitFor(what: string, check: () => boolean, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new Error(`timed out waiting for ${what}`);
}
