// What one bench process shares across its steps: the progress log (elapsed time first),
// the clean-ups to run when interrupted, and the upstream every scenario loads.
import { rmSync, writeFileSync } from 'node:fs';
import { distProgram } from './paths.js';
import { firstJsonLine, spawnPinned, stop, type Pinned } from './processes.js';

export const startedAt = Date.now();

/** clean-ups of processes still running, run on SIGINT/SIGTERM or a crash */
export const cleanups = new Set<() => Promise<void>>();

/** one progress line, prefixed with the elapsed time as [mm:ss] */
export function log(line: string): void {
  const s = Math.round((Date.now() - startedAt) / 1000);
  process.stdout.write(`[${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}] ${line}\n`);
}

export async function runCleanups(): Promise<void> {
  await Promise.all([...cleanups].map((c) => c()));
}

/** on SIGINT/SIGTERM: stop what the bench started, exit 130 */
export function stopOnSignals(): void {
  const onSignal = (): void => {
    log('interrupted: stopping the processes started by the bench');
    void runCleanups().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
}

export interface Upstream {
  proc: Pinned;
  port: number;
  stop(): Promise<void>;
}

/**
 * start one of bench's upstreams (`program`: src/upstream.ts, HTTP/1.1, by default; upstream-h2,
 * upstream-grpc) pinned to `cpu`; registered for clean-up until stopped
 */
export async function startUpstream(cpu: string, program = 'upstream', what = 'upstream'): Promise<Upstream> {
  const proc = spawnPinned(cpu, process.execPath, [distProgram(program)]);
  const stopIt = async (): Promise<void> => {
    cleanups.delete(stopIt);
    await stop(proc);
  };
  cleanups.add(stopIt);
  try {
    const { port } = await firstJsonLine<{ port: number }>(proc, 10_000);
    log(`${what} listening on 127.0.0.1:${port} (pid ${proc.pid})`);
    return { proc, port, stop: stopIt };
  } catch (err) {
    await stopIt();
    throw err;
  }
}

/**
 * The end of a run: the results JSON written, the table and its path printed; the work folder
 * (logs, bootstraps) kept only when a run failed. True when one did.
 */
export function finishRun(file: string, json: unknown, out: string[], failedRuns: number, workDir: string): boolean {
  writeFileSync(file, `${JSON.stringify(json, null, 2)}\n`);
  out.push('');
  out.push(`full results: ${file}`);
  process.stdout.write(`${out.join('\n')}\n`);
  if (failedRuns > 0) process.stdout.write(`logs and bootstraps of the runs kept in ${workDir}\n`);
  else rmSync(workDir, { recursive: true, force: true });
  return failedRuns > 0;
}
