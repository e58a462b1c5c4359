/**
 * A folder of YAML (multi-document files, `.yaml`/`.yml`/`.json`, sub-folders included) as a
 * config source, watched: every fs.watch event schedules a debounced re-scan of the whole
 * folder (simple, and immune to editors' rename-and-replace saves). An invalid resource is
 * reported with kind, namespace/name, field, file and document index, skipped, and, if a valid
 * version of it was loaded before, that version keeps serving; a file that does not parse keeps
 * all of its last good resources. A folder that cannot be read (deleted, renamed) is reported
 * and changes nothing: the config loaded before keeps serving until the folder is back.
 * Nothing here throws to the caller.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { KubeResource, ResourceIssue } from '@minimesh/kube';
import { ConfigStore } from './config-store.js';
import { loadManifests, type LoadedResource, type RejectedResource } from './load-manifests.js';

export interface FolderSourceOptions {
  /** Called with every resource after a scan that changed something. */
  readonly onChange: (resources: KubeResource[]) => void;
  /** Called after every scan with that scan's issues (empty when all is well). */
  readonly onIssues?: (issues: readonly ResourceIssue[]) => void;
  readonly debounceMs?: number;
  /** While the folder cannot be watched (deleted, renamed), how often to look for it again. */
  readonly retryMs?: number;
  readonly defaultNamespace?: string;
}

const MANIFEST = /\.(ya?ml|json)$/i;

function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      if (e.name.startsWith('.')) continue;
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && MANIFEST.test(e.name)) out.push(p);
    }
  };
  walk(dir);
  return out;
}

function inodeOf(p: string): number | undefined {
  try {
    return fs.statSync(p).ino;
  } catch {
    return undefined;
  }
}

export class FolderSource {
  private readonly store = new ConfigStore();
  private watcher: fs.FSWatcher | undefined;
  private watchedIno: number | undefined;
  private retry: NodeJS.Timeout | undefined;
  private started = false;
  private timer: NodeJS.Timeout | undefined;
  private lastIssues: readonly ResourceIssue[] = [];

  constructor(
    readonly dir: string,
    private readonly opts: FolderSourceOptions,
  ) {}

  /** Scans once, then watches. */
  start(): void {
    this.started = true;
    this.scan();
    this.watch();
  }

  stop(): void {
    this.started = false;
    this.unwatch();
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /**
   * Watches the folder; if it cannot (gone, renamed, unreadable), checks again every
   * `retryMs` until it can, then re-scans. A watch handle follows the folder's inode, so a
   * folder deleted or renamed and re-created must be watched anew.
   */
  private watch(): void {
    this.unwatch();
    try {
      this.watchedIno = fs.statSync(this.dir).ino;
      try {
        this.watcher = fs.watch(this.dir, { recursive: true }, () => this.schedule());
      } catch {
        // Recursive watching unavailable: fall back to the top folder only.
        this.watcher = fs.watch(this.dir, () => this.schedule());
      }
      this.watcher.on('error', () => this.lostFolder());
    } catch {
      this.lostFolder();
    }
  }

  private unwatch(): void {
    this.watcher?.close();
    this.watcher = undefined;
    this.watchedIno = undefined;
    if (this.retry) clearInterval(this.retry);
    this.retry = undefined;
  }

  /** The folder is gone or unreadable: poll until it is back, then watch and scan it again. */
  private lostFolder(): void {
    if (!this.started || this.retry) return;
    this.unwatch();
    this.retry = setInterval(() => {
      if (!fs.existsSync(this.dir)) return;
      this.watch();
      if (this.watcher) this.scan();
    }, this.opts.retryMs ?? 1000); // keeps the process alive, as the watcher it stands for did
  }

  private schedule(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.scan();
    }, this.opts.debounceMs ?? 100);
  }

  /** Re-reads the folder; returns the issues found. Public so callers (and tests) can force a scan. */
  scan(): readonly ResourceIssue[] {
    const valid: LoadedResource[] = [];
    const rejected: RejectedResource[] = [];
    const issues: ResourceIssue[] = [];
    let files: string[];
    try {
      files = listFiles(this.dir);
    } catch (e) {
      // Gone, renamed or unreadable: say so and keep serving what was loaded, unchanged.
      issues.push({ level: 'error', kind: '(folder)', namespace: '', name: this.dir, field: '', message: `cannot read folder (keeping the config loaded before): ${(e as Error).message}` });
      this.lastIssues = issues;
      this.opts.onIssues?.(issues);
      this.lostFolder();
      return issues;
    }
    // Replaced by another folder of the same name since it was watched: watch the new one.
    if (this.watcher && inodeOf(this.dir) !== this.watchedIno) this.watch();
    for (const f of files) {
      let text: string;
      try {
        text = fs.readFileSync(f, 'utf8');
      } catch (e) {
        // Vanished between listing and reading (an editor's save): the next event re-scans.
        issues.push({ level: 'warning', kind: '(file)', namespace: '', name: f, field: '', message: (e as Error).message, file: path.relative(this.dir, f) });
        continue;
      }
      const r = loadManifests(text, path.relative(this.dir, f), this.opts.defaultNamespace);
      valid.push(...r.resources);
      rejected.push(...r.rejected);
      issues.push(...r.issues);
    }
    const { changed, kept } = this.store.replaceAll(valid, rejected);
    for (const k of kept) issues.push({ level: 'warning', kind: k.split('/')[0], namespace: k.split('/')[1], name: k.split('/')[2], field: '', message: 'the new version is invalid; keeping the last good version' });
    this.lastIssues = issues;
    this.opts.onIssues?.(issues);
    if (changed) this.opts.onChange(this.store.resources());
    return issues;
  }

  get issues(): readonly ResourceIssue[] {
    return this.lastIssues;
  }

  resources(): KubeResource[] {
    return this.store.resources();
  }
}
