// `--base REV`: a build of another git revision to compare with, in its own git worktree
// under bench/results/base-<sha>/ (git-ignored), made once per resolved sha and then reused.
import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeCommit, git, resolveRevision } from './git.js';
import { cliOf, repoRoot, resultsDir } from './paths.js';

export interface BaseBuild {
  /** the revision as given */
  rev: string;
  /** the commit it resolved to */
  sha: string;
  /** root of its worktree (its proxy is ROOT/packages/cli/bin/minimesh.js) */
  root: string;
  /** true when an earlier run had already built this sha */
  reused: boolean;
  /** seconds `npm run build` took in this run (null when reused) */
  buildS: number | null;
}

/** what a finished build leaves in the worktree; its absence means "not built (yet)"; its mtime = last use */
const MARKER = '.minimesh-bench-built.json';

/** base builds kept in the cache folder (each is a checkout plus a copy of node_modules, ~300 MB) */
export const KEEP_BASE_BUILDS = 4;

/** where the worktree of `sha` lives */
export function baseRootFor(sha: string, cacheDir: string = resultsDir): string {
  return join(cacheDir, `base-${sha.slice(0, 12)}`);
}

/**
 * Resolve `rev`, check it out as a worktree (or reuse the one of an earlier run), give it
 * node_modules and the native addon of this tree, and build it. Throws with a message
 * naming `rev` when it is not a revision or its build fails.
 */
export async function prepareBase(rev: string, log: (line: string) => void, cacheDir: string = resultsDir): Promise<BaseBuild> {
  const sha = resolveRevision(rev);
  if (sha === null) throw new Error(`--base ${rev}: "${rev}" is not a git revision of ${repoRoot} (git rev-parse found no commit by that name)`);
  const root = baseRootFor(sha, cacheDir);
  log(`base: ${rev} = ${describeCommit(sha)}`);
  if (isBuilt(root, sha)) {
    log(`base: reusing the build in ${root}`);
    const now = new Date();
    utimesSync(join(root, MARKER), now, now);
    return { rev, sha, root, reused: true, buildS: null };
  }
  mkdirSync(cacheDir, { recursive: true });
  if (!isCheckoutOf(root, sha)) {
    if (existsSync(root)) {
      log(`base: ${root} is not a worktree of ${sha.slice(0, 12)}: removing it`);
      git(['worktree', 'remove', '--force', root]);
      rmSync(root, { recursive: true, force: true });
    }
    log(`base: creating a git worktree of ${sha.slice(0, 12)} in ${root}`);
    // --force: also when git still has this path registered from a worktree deleted by hand
    const add = git(['worktree', 'add', '--force', '--detach', root, sha]);
    if (!add.ok) throw new Error(`--base ${rev}: git worktree add ${root} failed:\n${add.stderr}`);
  }
  copyDependencies(root, log);
  const t0 = Date.now();
  await build(rev, sha, root, log);
  const buildS = (Date.now() - t0) / 1000;
  for (const f of [cliOf(root), join(root, 'packages', 'cli', 'dist', 'src', 'main.js')]) {
    if (!existsSync(f)) throw new Error(`--base ${rev}: the build of ${sha.slice(0, 12)} finished but ${f} does not exist (is it a minimesh revision with packages/cli?)`);
  }
  writeFileSync(join(root, MARKER), `${JSON.stringify({ rev, sha, builtAt: new Date().toISOString(), node: process.version, buildS }, null, 2)}\n`);
  log(`base: built in ${buildS.toFixed(0)} s`);
  pruneBaseBuilds(cacheDir, log);
  return { rev, sha, root, reused: false, buildS };
}

/** remove the least recently used base worktrees beyond the newest `keep` (and their build logs) */
export function pruneBaseBuilds(cacheDir: string, log: (line: string) => void, keep: number = KEEP_BASE_BUILDS): void {
  const lastUse = (dir: string): number => {
    try {
      return statSync(join(dir, MARKER)).mtimeMs;
    } catch {
      return statSync(dir).mtimeMs; // not built (yet): when it was last touched
    }
  };
  const roots = readdirSync(cacheDir)
    .filter((d) => /^base-[0-9a-f]{12}$/.test(d))
    .map((d) => join(cacheDir, d))
    .sort((a, b) => lastUse(b) - lastUse(a));
  for (const old of roots.slice(keep)) {
    log(`base: removing the least recently used base build ${old}`);
    git(['worktree', 'remove', '--force', old]);
    rmSync(old, { recursive: true, force: true });
    rmSync(`${old}.build.log`, { force: true });
  }
}

function isCheckoutOf(root: string, sha: string): boolean {
  if (!existsSync(join(root, '.git'))) return false;
  const head = git(['rev-parse', 'HEAD'], root);
  return head.ok && head.stdout === sha;
}

function isBuilt(root: string, sha: string): boolean {
  try {
    const marker = JSON.parse(readFileSync(join(root, MARKER), 'utf8')) as { sha?: string };
    return marker.sha === sha && isCheckoutOf(root, sha) && existsSync(cliOf(root));
  } catch {
    return false;
  }
}

/**
 * node_modules (the root one and any of a workspace) and proxy/native/build come from this
 * tree. Workspace links in node_modules/@minimesh are relative symlinks, so in the copy they
 * point at the base's own packages.
 */
function copyDependencies(root: string, log: (line: string) => void): void {
  if (!existsSync(join(repoRoot, 'node_modules'))) throw new Error(`${repoRoot}/node_modules does not exist: run npm install (or npm ci) first`);
  const dirs = ['node_modules', ...workspaceDirs().map((w) => join(w, 'node_modules')), join('proxy', 'native', 'build')];
  for (const rel of dirs) {
    const from = join(repoRoot, rel);
    const to = join(root, rel);
    if (!existsSync(from) || existsSync(to)) continue;
    log(`base: copying ${rel} from this tree`);
    mkdirSync(join(to, '..'), { recursive: true });
    const cp = spawnSync('cp', ['-a', from, to], { encoding: 'utf8' });
    if (cp.status !== 0) throw new Error(`copying ${from} to ${to} failed: ${cp.stderr || cp.error?.message}`);
  }
}

/** this tree's workspace folders (package.json "workspaces", with `dir/*` expanded) */
function workspaceDirs(): string[] {
  const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { workspaces?: string[] };
  return (pkg.workspaces ?? []).flatMap((w) => {
    if (!w.endsWith('/*')) return [w];
    const parent = w.slice(0, -2);
    try {
      return readdirSync(join(repoRoot, parent))
        .map((d) => join(parent, d))
        .filter((d) => statSync(join(repoRoot, d)).isDirectory());
    } catch {
      return [];
    }
  });
}

/** `npm run build` in the worktree; its output goes to a log file, headings and a heartbeat to the progress log */
async function build(rev: string, sha: string, root: string, log: (line: string) => void): Promise<void> {
  const logFile = `${root}.build.log`;
  const out = createWriteStream(logFile);
  // npm's own variables from the `npm run bench` around us would point the inner npm at this tree
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k) && k !== 'INIT_CWD'));
  log(`base: npm run build in ${root} (output in ${logFile})`);
  const child = spawn('npm', ['run', 'build'], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const tail: string[] = [];
  const onLines = (chunk: Buffer): void => {
    out.write(chunk);
    for (const line of chunk.toString('utf8').split('\n')) {
      if (line.trim() === '') continue;
      tail.push(line);
      if (tail.length > 30) tail.shift();
      if (line.startsWith('> ')) log(`   base build │ ${line}`); // npm's "> package@version script" headings
    }
  };
  child.stdout.on('data', onLines);
  child.stderr.on('data', onLines);
  const t0 = Date.now();
  const heartbeat = setInterval(() => log(`   base build │ still building (${Math.round((Date.now() - t0) / 1000)} s)`), 15_000);
  const code = await new Promise<number | string>((resolveExit) => {
    child.once('exit', (c, signal) => resolveExit(c ?? signal ?? 'unknown'));
    child.once('error', (err) => resolveExit(`error: ${err.message}`));
  });
  clearInterval(heartbeat);
  await new Promise<void>((r) => out.end(() => r()));
  if (code !== 0) {
    throw new Error(`--base ${rev}: the build of ${sha.slice(0, 12)} failed (npm run build exited ${code}); last lines:\n${tail.join('\n')}\nfull log: ${logFile}`);
  }
}
