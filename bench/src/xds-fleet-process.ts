// The simulated fleet of `npm run bench:xds` as the orchestrator drives it: the xds-fleet.ts
// process (pinned to CPU 1, commands on stdin, JSON lines on stdout), and stopping processes.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { distProgram } from './paths.js';
import { hasTaskset, type Pinned } from './processes.js';

export class Fleet {
  private readonly waiting = new Map<string, (msg: Record<string, unknown>) => void>();
  readonly pinned: Pinned;

  constructor(server: string, proxies: number, channels: number, onProgress: (msg: Record<string, unknown>) => void) {
    const args = [distProgram('xds-fleet'), '--server', server, '--proxies', String(proxies), '--channels', String(channels)];
    this.pinned = spawnWithStdin('1', process.execPath, args);
    const proc = this.pinned.proc;
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      let msg: Record<string, unknown>;
      try {
        msg = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return;
      }
      if (msg.type === 'progress') onProgress(msg);
      const w = this.waiting.get(msg.type as string);
      if (w) {
        this.waiting.delete(msg.type as string);
        w(msg);
      }
    });
  }

  get pid(): number {
    return this.pinned.pid;
  }

  /** the next message of one of `types`; rejects after timeoutMs or when the fleet exits */
  next<T>(types: string[], timeoutMs: number): Promise<T> {
    return new Promise<T>((resolveMsg, reject) => {
      const timer = setTimeout(() => {
        for (const t of types) this.waiting.delete(t);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for the fleet's ${types.join('/')}`));
      }, timeoutMs);
      const done = (msg: Record<string, unknown>): void => {
        clearTimeout(timer);
        for (const t of types) this.waiting.delete(t);
        resolveMsg(msg as T);
      };
      for (const t of types) this.waiting.set(t, done);
      void this.pinned.exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`the fleet exited (${code})`));
      });
    });
  }

  send(cmd: string): void {
    this.pinned.proc.stdin?.write(`${JSON.stringify({ cmd })}\n`);
  }

  async quit(): Promise<void> {
    this.send('quit');
    if (!(await exitedWithin(this.pinned, 3000))) {
      this.pinned.proc.kill('SIGKILL');
      await this.pinned.exited;
    }
  }
}

/** true when p exits within ms (the timer does not outlive the wait) */
async function exitedWithin(p: Pinned, ms: number): Promise<boolean> {
  if (p.proc.exitCode !== null || p.proc.signalCode !== null) return true;
  let timer: NodeJS.Timeout | undefined;
  const done = await Promise.race([p.exited.then(() => true), new Promise<boolean>((r) => (timer = setTimeout(() => r(false), ms)))]);
  clearTimeout(timer);
  return done;
}

/** SIGTERM, then SIGKILL after graceMs */
export async function stopProcess(p: Pinned, graceMs: number): Promise<void> {
  if (p.proc.exitCode !== null || p.proc.signalCode !== null) return;
  p.proc.kill('SIGTERM');
  if (!(await exitedWithin(p, graceMs))) {
    p.proc.kill('SIGKILL');
    await p.exited;
  }
}

/** spawnPinned with stdin piped (the fleet reads commands) */
function spawnWithStdin(cpu: string, cmd: string, args: readonly string[]): Pinned {
  const [file, argv] = hasTaskset() ? ['taskset', ['-c', cpu, cmd, ...args]] : [cmd, [...args]];
  const proc: ChildProcess = spawn(file, argv, { stdio: ['pipe', 'pipe', 'inherit'] });
  if (proc.pid === undefined) throw new Error(`could not start ${cmd}`);
  const exited = new Promise<number | string>((r) => {
    proc.once('exit', (code, signal) => r(code ?? signal ?? 'unknown'));
    proc.once('error', (err) => r(`error: ${err.message}`));
  });
  return { proc, pid: proc.pid, exited, logFile: null };
}
