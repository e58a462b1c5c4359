/**
 * buildah for the image test, with its own storage under a work folder (default
 * /var/tmp/minimesh-image; MINIMESH_IMAGE_WORK overrides), so the test neither sees nor changes
 * the machine's images, and the base image it assembles stays there between runs.
 *
 * Two files there configure it (export them to look with `buildah images` yourself):
 * - containers.conf: `default_ulimits = []`, so no step asks to raise RLIMIT_NOFILE (some
 *   machines refuse it);
 * - storage.conf: the overlay driver where this kernel and folder allow it, else vfs (slower,
 *   a full copy per layer).
 * Every RUN and `buildah run` uses chroot isolation: no runtime (runc, crun) and no cgroups
 * are needed, and the processes share the host's network.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runLogged, type RunOptions } from './image-tools.js';

export const IMAGE_WORK_DIR = process.env.MINIMESH_IMAGE_WORK ?? '/var/tmp/minimesh-image';

export interface OciImageConfig {
  User?: string;
  Entrypoint?: string[];
  Cmd?: string[];
  Env?: string[];
  WorkingDir?: string;
  Labels?: Record<string, string>;
}

export type StorageDriver = 'overlay' | 'vfs';

export class Buildah {
  readonly env: NodeJS.ProcessEnv;
  readonly logFile: string;

  private constructor(
    readonly workDir: string,
    readonly driver: StorageDriver,
  ) {
    this.env = {
      ...process.env,
      CONTAINERS_CONF: join(workDir, 'containers.conf'),
      CONTAINERS_STORAGE_CONF: join(workDir, `storage-${driver}.conf`),
      BUILDAH_ISOLATION: 'chroot',
    };
    this.logFile = join(workDir, 'logs', 'image-test.log');
  }

  /** Writes the configuration and picks the storage driver: overlay when a scratch container mounts with it. Starts a new log. */
  static open(workDir = IMAGE_WORK_DIR): Buildah {
    mkdirSync(join(workDir, 'logs'), { recursive: true });
    writeFileSync(join(workDir, 'containers.conf'), '[containers]\ndefault_ulimits = []\n');
    for (const driver of ['overlay', 'vfs'] as const) {
      writeFileSync(
        join(workDir, `storage-${driver}.conf`),
        `[storage]\ndriver = "${driver}"\ngraphroot = "${join(workDir, `storage-${driver}`)}"\nrunroot = "${join(workDir, `run-${driver}`)}"\n`,
      );
    }
    const overlay = new Buildah(workDir, 'overlay');
    const b = overlay.canMount() ? overlay : new Buildah(workDir, 'vfs');
    writeFileSync(b.logFile, `# the image test, ${new Date().toISOString()}: buildah storage ${b.driver}\n`);
    return b;
  }

  private canMount(): boolean {
    const from = this.sync(['from', 'scratch']);
    if (from.code !== 0) return false;
    const id = from.stdout.trim();
    const mounted = this.sync(['mount', id]).code === 0;
    this.sync(['rm', id]);
    return mounted;
  }

  /** A short buildah command, run to its end: its exit code and output. */
  sync(args: readonly string[]): { code: number; stdout: string; stderr: string } {
    const r = spawnSync('buildah', args, { env: this.env, encoding: 'utf8' });
    return { code: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? (r.error?.message ?? '') };
  }

  /** A short buildah command that must succeed: its stdout, trimmed. */
  must(args: readonly string[]): string {
    const r = this.sync(args);
    if (r.code !== 0) throw new Error(`buildah ${args.join(' ')} failed (${r.code}): ${r.stderr.trim()}`);
    return r.stdout.trim();
  }

  /** A long buildah command (bud, commit), output to the log, chosen lines shown. */
  run(args: readonly string[], o: Omit<RunOptions, 'logFile' | 'env'>): Promise<string> {
    return runLogged('buildah', args, { ...o, logFile: this.logFile, env: this.env });
  }

  imageExists(name: string): boolean {
    return this.sync(['inspect', '--type', 'image', name]).code === 0;
  }

  /** An image's OCI config (User, Entrypoint, WorkingDir, Labels ...), or undefined when there is no such image. */
  imageConfig(name: string): OciImageConfig | undefined {
    const r = this.sync(['inspect', '--type', 'image', name]);
    if (r.code !== 0) return undefined;
    return (JSON.parse(r.stdout) as { OCIv1?: { config?: OciImageConfig } }).OCIv1?.config ?? {};
  }

  /** Removes a working container by name if one is left from an earlier run. */
  removeContainer(name: string): void {
    const names = this.must(['containers', '--format', '{{.ContainerName}}']).split('\n');
    if (names.includes(name)) this.must(['rm', name]);
  }

  /** The commands to look at this storage by hand. */
  describe(): string {
    return `CONTAINERS_CONF=${this.env.CONTAINERS_CONF} CONTAINERS_STORAGE_CONF=${this.env.CONTAINERS_STORAGE_CONF} buildah images`;
  }
}
