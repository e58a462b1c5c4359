/** The OS seam of the init program: running iptables-save / iptables-restore. */
import { spawnSync } from 'node:child_process';

export interface CommandResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export type CommandRunner = (cmd: string, args: readonly string[], stdin?: string) => CommandResult;

export const systemRunner: CommandRunner = (cmd, args, stdin) => {
  const r = spawnSync(cmd, args, { input: stdin, encoding: 'utf8' });
  if (r.error) return { code: 127, stdout: '', stderr: `${cmd}: ${r.error.message}` };
  return { code: r.status ?? 1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
};
