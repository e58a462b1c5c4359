/**
 * For the image test: what it needs of the machine, and running a long command with its whole
 * output kept in a log file while chosen lines are shown as they come, so whoever watches sees
 * the build advancing.
 */
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync } from 'node:fs';

const started = Date.now();

/** A line on stderr with the time since the test began: tap passes it through at once. */
export function progress(message: string): void {
  process.stderr.write(`[image +${((Date.now() - started) / 1000).toFixed(0)}s] ${message}\n`);
}

/** Whether a program is on PATH. */
export function onPath(program: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${program}`], { stdio: 'ignore' }).status === 0;
}

/** Why this machine cannot build and run the image, or undefined when it can. */
export function cannotBuildImages(): string | undefined {
  if (process.platform !== 'linux') return `needs Linux (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return 'needs root (debootstrap, chroot and buildah storage)';
  for (const program of ['buildah', 'debootstrap', 'chroot']) {
    if (!onPath(program)) return `needs ${program} (apt-get install buildah debootstrap)`;
  }
  return undefined;
}

export interface RunOptions {
  /** Shown in progress lines and in errors. */
  readonly label: string;
  /** Every line of stdout and stderr is appended here. */
  readonly logFile: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  /** Lines (stdout or stderr) to show as progress. */
  readonly show?: (line: string) => boolean;
}

/** How many of the last lines an error quotes. */
const TAIL_LINES = 30;

/** Runs a command to its end; resolves to its stdout, rejects naming the command and its last lines. */
export function runLogged(cmd: string, args: readonly string[], o: RunOptions): Promise<string> {
  appendFileSync(o.logFile, `\n$ ${cmd} ${args.join(' ')}\n`);
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: o.env ?? process.env, cwd: o.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    const stdout: string[] = [];
    const tail: string[] = [];
    const lines = (chunkToLines: (line: string) => void) => {
      let rest = '';
      return (chunk: Buffer): void => {
        const parts = (rest + chunk.toString('utf8')).split('\n');
        rest = parts.pop() ?? '';
        for (const line of parts) chunkToLines(line);
      };
    };
    const onLine = (line: string): void => {
      appendFileSync(o.logFile, `${line}\n`);
      tail.push(line);
      if (tail.length > TAIL_LINES) tail.shift();
      if (o.show?.(line)) progress(`${o.label}: ${line.trim()}`);
    };
    child.stdout.on('data', (c: Buffer) => stdout.push(c.toString('utf8')));
    child.stdout.on('data', lines(onLine));
    child.stderr.on('data', lines(onLine));
    child.on('error', (e) => reject(new Error(`${o.label}: cannot run ${cmd}: ${e.message}`)));
    child.on('close', (code, signal) => {
      if (code === 0) resolve(stdout.join(''));
      else {
        const how = signal !== null ? `was killed by ${signal}` : `exited with code ${code}`;
        reject(new Error(`${o.label}: ${cmd} ${args.join(' ')} ${how}; last lines:\n${tail.join('\n')}\n(full log: ${o.logFile})`));
      }
    });
  });
}

/** Seconds since `from` (a Date.now()), one decimal. */
export function secondsSince(from: number): number {
  return Math.round((Date.now() - from) / 100) / 10;
}
