/**
 * Pods as Linux network namespaces, for the interception tests and the demo: two pod
 * namespaces joined by a veth pair (10.x addresses live only inside them), each app run as a
 * uid other than 1337 and each sidecar as 1337, the capture rules installed by `minimesh
 * iptables`; and a third namespace for the control plane, linked to each pod by its own veth
 * pair (istiod's place: reachable from the pods, outside them). Nothing here sends traffic
 * outside these namespaces or loopback.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The proxy's SO_ORIGINAL_DST addon (injector/dist/src/netns -> proxy/native): capture needs it. */
const ORIGINAL_DST_ADDON = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..', 'proxy', 'native', 'build', 'Release', 'original_dst.node');

export const APP_UID = 1000;
export const PROXY_UID = 1337;

export interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * The environment of everything started in the pods: ours, without a test runner's hooks.
 * Under tap, NODE_OPTIONS carries `--import @tapjs/processinfo`, which every node child would
 * inherit: each module the control plane and the sidecars load then goes through tap's loader
 * hook (about three times slower to start), enough under a loaded parallel run for the
 * sidecars to miss their readiness deadline. The programs under test run as in a pod.
 */
export function childEnv(extra?: Readonly<Record<string, string>>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  const opts = (env.NODE_OPTIONS ?? '').split(/\s+/).filter((o) => o !== '' && !/@tapjs|[/\\]tap[/\\]/.test(o));
  if (opts.length > 0) env.NODE_OPTIONS = opts.join(' ');
  else delete env.NODE_OPTIONS;
  return env;
}

export function run(cmd: string, args: readonly string[], input?: string): Run {
  const r = spawnSync(cmd, args, { encoding: 'utf8', input, timeout: 20_000, env: childEnv() });
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
  if (!existsSync(ORIGINAL_DST_ADDON)) return `the proxy's original-dst addon is not built (${ORIGINAL_DST_ADDON}; \`npm install\` builds it with node-gyp and a C compiler)`;
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

export function spawnInPod(pod: NetnsPod, uid: number | undefined, cmd: readonly string[], logs: string[], env?: Readonly<Record<string, string>>): ChildProcess {
  const p = spawn('ip', podArgs(pod, uid, cmd), { stdio: ['ignore', 'pipe', 'pipe'], env: childEnv(env) });
  const tag = `[${pod.name}${uid === PROXY_UID ? '/sidecar' : uid === undefined ? '' : '/app'}]`;
  p.stdout?.on('data', (d: Buffer) => logs.push(`${tag} ${d.toString().trimEnd()}`));
  p.stderr?.on('data', (d: Buffer) => logs.push(`${tag} ${d.toString().trimEnd()}`));
  return p;
}

/**
 * Two pods on one link: client 10.77.<n>.1, echo 10.77.<n>.2 (+ .3, an address the mesh does
 * not know). The control plane's namespace reaches the client over 10.78.<n>.0/24 and the echo
 * pod over 10.79.<n>.0/24 (its address on each link: `controlPlaneAddress(pod)`).
 */
export class NetnsTopology {
  readonly client: NetnsPod;
  readonly echo: NetnsPod;
  /** The control plane's namespace (its `ip` is its address on the client's link). */
  readonly controlPlane: NetnsPod;
  /** A second address of the echo pod that no route names (for PassthroughCluster). */
  readonly echoUnknownIp: string;
  readonly dir: string;
  private readonly procs: ChildProcess[] = [];
  private readonly started = new Map<ChildProcess, string>();
  readonly logs: string[] = [];
  private readonly tag: string;
  private readonly n: number;
  private readonly links: string[] = [];

  constructor(tag = `${process.pid % 100000}`) {
    this.tag = tag;
    const n = (this.n = (process.pid % 200) + 20);
    this.client = { name: 'client', ns: `mm-client-${tag}`, ip: `10.77.${n}.1` };
    this.echo = { name: 'echo', ns: `mm-echo-${tag}`, ip: `10.77.${n}.2` };
    this.controlPlane = { name: 'istiod', ns: `mm-cp-${tag}`, ip: `10.78.${n}.10` };
    this.echoUnknownIp = `10.77.${n}.3`;
    this.dir = mkdtempSync(join(tmpdir(), 'mm-netns-'));
    chmodSync(this.dir, 0o755);
  }

  get pods(): NetnsPod[] {
    return [this.client, this.echo, this.controlPlane];
  }

  /** The control plane's address as `pod` reaches it. */
  controlPlaneAddress(pod: NetnsPod): string {
    return pod === this.echo ? `10.79.${this.n}.10` : `10.78.${this.n}.10`;
  }

  create(): void {
    const { client, echo, controlPlane: cp, n } = this;
    for (const pod of this.pods) must('ip', ['netns', 'add', pod.ns]);
    const links: [NetnsPod, string, string[], NetnsPod, string, string[]][] = [
      [client, `mmc${this.tag}`, [`${client.ip}/24`], echo, `mme${this.tag}`, [`${echo.ip}/24`, `${this.echoUnknownIp}/24`]],
      [client, `mmcx${this.tag}`, [`10.78.${n}.1/24`], cp, `mmxc${this.tag}`, [`10.78.${n}.10/24`]],
      [echo, `mmex${this.tag}`, [`10.79.${n}.2/24`], cp, `mmxe${this.tag}`, [`10.79.${n}.10/24`]],
    ];
    for (const [a, da, addrsA, b, db, addrsB] of links) {
      must('ip', ['link', 'add', da.slice(0, 15), 'type', 'veth', 'peer', 'name', db.slice(0, 15)]);
      this.links.push(da.slice(0, 15));
      for (const [pod, dev, addrs] of [
        [a, da.slice(0, 15), addrsA],
        [b, db.slice(0, 15), addrsB],
      ] as const) {
        must('ip', ['link', 'set', dev, 'netns', pod.ns]);
        for (const addr of addrs) must('ip', ['-n', pod.ns, 'addr', 'add', addr, 'dev', dev]);
        must('ip', ['-n', pod.ns, 'link', 'set', dev, 'up']);
      }
    }
    for (const pod of this.pods) {
      must('ip', ['-n', pod.ns, 'link', 'set', 'lo', 'up']);
      // Apps bind :80 without root, as in a pod.
      must('ip', ['netns', 'exec', pod.ns, 'sysctl', '-qw', 'net.ipv4.ip_unprivileged_port_start=0']);
    }
  }

  /**
   * A route for addresses that live on no interface (Kubernetes cluster IPs): the app's
   * connect() needs one before nat OUTPUT can redirect it to the sidecar. Points at the echo
   * pod's link; only uncaptured traffic would ever use it (and find nobody there).
   */
  addClusterIpRoute(pod: NetnsPod, cidr: string): void {
    const dev = pod === this.client ? `mmc${this.tag}` : `mme${this.tag}`;
    must('ip', ['-n', pod.ns, 'route', 'add', cidr, 'dev', dev.slice(0, 15)]);
  }

  /**
   * The pod's /etc/hosts (`ip netns exec` bind-mounts /etc/netns/NS/hosts over /etc/hosts), so
   * service names resolve without a DNS server, as kube-dns would answer them.
   */
  setHosts(pod: NetnsPod, text: string): void {
    const dir = join('/etc/netns', pod.ns);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'hosts'), text, { mode: 0o644 });
  }

  writeFile(name: string, text: string): string {
    const f = join(this.dir, name);
    mkdirSync(dirname(f), { recursive: true, mode: 0o755 });
    writeFileSync(f, text, { mode: 0o644 });
    return f;
  }

  start(pod: NetnsPod, uid: number | undefined, cmd: readonly string[], env?: Readonly<Record<string, string>>): ChildProcess {
    const p = spawnInPod(pod, uid, cmd, this.logs, env);
    this.procs.push(p);
    this.started.set(p, `${pod.name}: ${cmd.slice(0, 4).join(' ')}`);
    return p;
  }

  /** A process start() started that has exited since (a waitFor that can never succeed), or undefined. */
  exited(): string | undefined {
    for (const p of this.procs) if (p.exitCode !== null || p.signalCode !== null) return `${this.started.get(p)} exited (${p.exitCode ?? p.signalCode})`;
    return undefined;
  }

  /** Stops what it started and deletes the namespaces (the veth pairs go with them). */
  destroy(): void {
    for (const p of this.procs) if (p.exitCode === null && p.pid) {
      try {
        p.kill('SIGKILL');
      } catch {
        /* gone */
      }
    }
    // `ip netns exec` forks: kill whatever still runs inside the namespaces.
    for (const pod of this.pods) {
      const pids = run('ip', ['netns', 'pids', pod.ns]).stdout.split(/\s+/).filter(Boolean);
      for (const pid of pids) run('kill', ['-9', pid]);
      run('ip', ['netns', 'del', pod.ns]);
      rmSync(join('/etc/netns', pod.ns), { recursive: true, force: true });
    }
    try {
      rmdirSync('/etc/netns'); // only when empty: it did not exist before us, or others still use it
    } catch {
      /* not empty, or not there */
    }
    // A veth pair that never made it into a namespace (create() failed half way).
    for (const l of this.links) if (run('ip', ['link', 'show', l]).code === 0) run('ip', ['link', 'del', l]);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * Polls `check` until it holds. `timeoutMs` is a backstop for a machine under load, not the
 * expected time: `gaveUp` (e.g. NetnsTopology.exited) ends the wait at once with its reason.
 */
export async function waitFor(what: string, check: () => boolean, timeoutMs = 15_000, gaveUp?: () => string | undefined): Promise<void> {
  const start = Date.now();
  for (;;) {
    if (check()) return;
    const why = gaveUp?.();
    if (why !== undefined) throw new Error(`gave up waiting for ${what}: ${why}`);
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what} after ${((Date.now() - start) / 1000).toFixed(1)} s`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
