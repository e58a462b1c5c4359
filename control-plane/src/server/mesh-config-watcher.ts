/**
 * The mesh config file (`--mesh-config`; in a pod ConfigMap `istio` mounted at
 * /etc/istio/config), read at start and again whenever it changes. A mounted ConfigMap changes
 * by swapping a symlink in its folder, so the folder is watched (any event re-reads the file)
 * and, in case events are missed, the file is also polled. Only a change of content counts.
 * A file that cannot be read or parsed is reported (file and line) and the last good mesh
 * config keeps serving; each warning and error is printed once, again only after it went away
 * and came back.
 */
import fs from 'node:fs';
import path from 'node:path';
import { DEFAULT_MESH_CONFIG, MeshConfigError, parseMeshConfig, type MeshConfig } from '../model/mesh-config.js';
import { OnceReporter } from './analyze-line.js';

export interface MeshConfigWatcherOptions {
  readonly file: string;
  /** Called after the file changed to a good mesh config (not for the first read). */
  readonly onChange: (config: MeshConfig) => void;
  readonly print: (line: string) => void;
  /** How often the file is read again regardless of events (default 5000 ms). */
  readonly pollMs?: number;
  /** Quiet time after a folder event before reading (default 50 ms). */
  readonly debounceMs?: number;
}

export class MeshConfigWatcher {
  private config: MeshConfig = DEFAULT_MESH_CONFIG;
  private lastText: string | undefined;
  /** A good mesh config was read (else the defaults serve). */
  private hadGood = false;
  /** The first read is done: later changes are announced. */
  private started = false;
  private readonly reporter: OnceReporter;
  private watcher: fs.FSWatcher | undefined;
  private poll: NodeJS.Timeout | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly o: MeshConfigWatcherOptions) {
    this.reporter = new OnceReporter(o.print);
  }

  /** The last good mesh config (Istio's defaults until one was read). */
  get current(): MeshConfig {
    return this.config;
  }

  /** Reads the file once (synchronously), then watches it. */
  start(): void {
    this.reload();
    this.started = true;
    try {
      this.watcher = fs.watch(path.dirname(this.o.file), () => this.schedule());
      this.watcher.on('error', () => {
        this.watcher?.close();
        this.watcher = undefined;
      });
    } catch {
      // No folder to watch (yet): polling finds the file.
    }
    this.poll = setInterval(() => this.reload(), this.o.pollMs ?? 5000);
    this.poll.unref();
  }

  stop(): void {
    this.watcher?.close();
    this.watcher = undefined;
    if (this.poll) clearInterval(this.poll);
    if (this.timer) clearTimeout(this.timer);
    this.poll = this.timer = undefined;
  }

  private schedule(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.reload();
    }, this.o.debounceMs ?? 50);
    this.timer.unref();
  }

  /** Reads the file; returns true when a new good mesh config was taken. */
  reload(): boolean {
    const fallback = this.hadGood ? 'keeping the last good mesh config' : "using Istio's defaults";
    let text: string;
    try {
      text = fs.readFileSync(this.o.file, 'utf8');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
      this.reporter.report('error', [`Error: mesh config ${this.o.file}: cannot read it (${code}); ${fallback}`]);
      return false;
    }
    if (text === this.lastText) return false;
    this.lastText = text;
    let parsed;
    try {
      parsed = parseMeshConfig(text, this.o.file);
    } catch (e) {
      if (!(e instanceof MeshConfigError)) throw e;
      this.reporter.report('error', [`Error: mesh config ${e.message}; ${fallback}`]);
      return false;
    }
    this.reporter.report('error', []);
    this.reporter.report('warnings', parsed.warnings.map((w) => `Warning: mesh config ${w}`));
    const changed = JSON.stringify(parsed.config) !== JSON.stringify(this.config);
    this.config = parsed.config;
    this.hadGood = true;
    if (this.started && changed) {
      this.o.print(`mesh config updated from ${this.o.file}`);
      this.o.onChange(parsed.config);
    }
    return changed;
  }
}
