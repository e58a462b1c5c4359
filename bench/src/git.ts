// The few git questions the bench asks: which commit, is the tree dirty, what does a revision name.
import { spawnSync } from 'node:child_process';
import { repoRoot } from './paths.js';

export interface GitResult {
  ok: boolean;
  stdout: string;
  stderr: string;
}

/** run `git ARGS` in `cwd` (this repository by default) and capture its output */
export function git(args: readonly string[], cwd: string = repoRoot): GitResult {
  const r = spawnSync('git', args, { cwd, encoding: 'utf8' });
  if (r.error !== undefined) return { ok: false, stdout: '', stderr: r.error.message };
  return { ok: r.status === 0, stdout: r.stdout.trim(), stderr: r.stderr.trim() };
}

/** the short sha of HEAD in `cwd`, or null outside a git checkout */
export function gitCommit(cwd: string = repoRoot): string | null {
  const r = git(['rev-parse', '--short', 'HEAD'], cwd);
  return r.ok ? r.stdout : null;
}

/** true when the checkout at `cwd` has changes not committed (untracked files included) */
export function hasUncommittedChanges(cwd: string = repoRoot): boolean {
  const r = git(['status', '--porcelain'], cwd);
  return r.ok && r.stdout !== '';
}

/** the full sha of the commit `rev` names (a sha, branch, tag, HEAD~3, ...), or null */
export function resolveRevision(rev: string, cwd: string = repoRoot): string | null {
  if (rev.startsWith('-')) return null;
  const r = git(['rev-parse', '--verify', '--quiet', '--end-of-options', `${rev}^{commit}`], cwd);
  return r.ok && /^[0-9a-f]{40,64}$/.test(r.stdout) ? r.stdout : null;
}

/** `<short sha> <subject>` of a commit, for progress lines */
export function describeCommit(sha: string, cwd: string = repoRoot): string {
  const r = git(['log', '-1', '--format=%h %s', sha], cwd);
  return r.ok ? r.stdout : sha.slice(0, 12);
}
