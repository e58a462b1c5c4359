// Starting processes pinned to a CPU, waiting for them, stopping them.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { openSync, closeSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { sleep } from './stats.js';

let tasksetOk: boolean | undefined;

export function hasTaskset(): boolean {
  if (tasksetOk === undefined) {
    const r = spawnSync('taskset', ['-c', '0', 'true']);
    tasksetOk = r.status === 0;
  }
  return tasksetOk;
}

export interface Pinned {
  proc: ChildProcess;
  pid: number;
  /** resolves with the exit code (or the signal name) when the process ends */
  exited: Promise<number | string>;
  logFile: string | null;
}

/**
 * Spawn `cmd args` pinned to `cpu` with `taskset -c` (taskset execs the command,
 * so the pid is the command's own). Output goes to `logFile` when given,
 * otherwise stdout is piped (for programs that print JSON) and stderr inherited.
 */
export function spawnPinned(cpu: string, cmd: string, args: readonly string[], logFile?: string): Pinned {
  const [file, argv] = hasTaskset() ? ['taskset', ['-c', cpu, cmd, ...args]] : [cmd, [...args]];
  let proc: ChildProcess;
  if (logFile !== undefined) {
    const fd = openSync(logFile, 'a');
    proc = spawn(file, argv, { stdio: ['ignore', fd, fd] });
    closeSync(fd);
  } else {
    proc = spawn(file, argv, { stdio: ['ignore', 'pipe', 'inherit'] });
  }
  if (proc.pid === undefined) throw new Error(`could not start ${cmd}`);
  const exited = new Promise<number | string>((resolveExit) => {
    proc.once('exit', (code, signal) => resolveExit(code ?? signal ?? 'unknown'));
    proc.once('error', (err) => resolveExit(`error: ${err.message}`));
  });
  return { proc, pid: proc.pid, exited, logFile: logFile ?? null };
}

/** run a program to completion and return its stdout (it must exit 0) */
export async function runToStdout(cpu: string, cmd: string, args: readonly string[], timeoutMs: number): Promise<string> {
  const p = spawnPinned(cpu, cmd, args);
  const chunks: Buffer[] = [];
  p.proc.stdout?.on('data', (c: Buffer) => chunks.push(c));
  const timer = setTimeout(() => p.proc.kill('SIGKILL'), timeoutMs);
  const code = await p.exited;
  clearTimeout(timer);
  const out = Buffer.concat(chunks).toString('utf8');
  if (code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited with ${code}\n${out.slice(-2000)}`);
  return out;
}

/** send `signal`, wait up to `graceMs`, then SIGKILL */
export async function stop(p: Pinned, signal: NodeJS.Signals = 'SIGTERM', graceMs = 5000): Promise<void> {
  if (p.proc.exitCode !== null || p.proc.signalCode !== null) return;
  p.proc.kill(signal);
  const timedOut = await Promise.race([p.exited.then(() => false), sleep(graceMs).then(() => true)]);
  if (timedOut) {
    p.proc.kill('SIGKILL');
    await p.exited;
  }
}

/** read the first line a program prints on stdout and parse it as JSON */
export function firstJsonLine<T>(p: Pinned, timeoutMs: number): Promise<T> {
  return new Promise((resolveLine, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error('timed out waiting for the first line')), timeoutMs);
    p.proc.stdout?.on('data', (c: Buffer) => {
      buf += c.toString('utf8');
      const nl = buf.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(timer);
        try {
          resolveLine(JSON.parse(buf.slice(0, nl)) as T);
        } catch (err) {
          reject(err as Error);
        }
      }
    });
    void p.exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`exited (${code}) before printing its first line`));
    });
  });
}

function httpStatus(url: string): Promise<number> {
  return new Promise((resolveStatus) => {
    const req = request(url, { agent: false, timeout: 1000 }, (res) => {
      res.resume();
      resolveStatus(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolveStatus(0));
    req.end();
  });
}

/** poll `url` until it answers 200; fail if `p` exits first or after timeoutMs */
export async function waitFor200(url: string, p: Pinned, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exit: number | string | undefined;
  void p.exited.then((c) => {
    exit = c;
  });
  for (;;) {
    if (exit !== undefined) throw new Error(`${what} exited (${exit}) before ${url} answered 200${logTail(p)}`);
    if ((await httpStatus(url)) === 200) return;
    if (Date.now() > deadline) throw new Error(`${what}: ${url} did not answer 200 within ${timeoutMs} ms${logTail(p)}`);
    await sleep(50);
  }
}

export function logTail(p: Pinned): string {
  if (p.logFile === null) return '';
  try {
    const text = readFileSync(p.logFile, 'utf8').trimEnd();
    return text === '' ? '' : `\n--- ${p.logFile} (tail) ---\n${text.split('\n').slice(-20).join('\n')}`;
  } catch {
    return '';
  }
}
