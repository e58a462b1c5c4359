/**
 * What the httpbin task tests share: the examples' files (examples/tasks/...), the httpbin
 * stand-in and the fortio-like load client as real child processes, and a free port on an
 * address. Not a test file.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import type { Teardown } from './local-mesh.js';

/** examples/tasks/ of the repository (from packages/cli/dist/test/helpers). */
export const TASKS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../../examples/tasks');

/** A file of examples/tasks/, e.g. `circuit-breaking/k8s/destination-rule.yaml`. */
export function taskFile(rel: string): string {
  return fs.readFileSync(path.join(TASKS_DIR, rel), 'utf8');
}

/** `text` with every `containerPort: FROM` and `targetPort: FROM` made `to` (the tests' free ports). */
export function withPort(text: string, from: number, to: number): string {
  return text.replace(new RegExp(`(containerPort|targetPort): ${from}\\b`, 'g'), `$1: ${to}`);
}

export interface Httpbin {
  readonly port: number;
  /** Its log's request lines so far (`<time> NAME "GET /path" 200 host=...`). */
  requests(): string[];
}

/** Starts examples/tasks/httpbin/httpbin.js on 127.0.0.1 (a free port), killed at teardown. */
export async function startHttpbin(t: Teardown, name: string): Promise<Httpbin> {
  const child = spawn(process.execPath, [path.join(TASKS_DIR, 'httpbin', 'httpbin.js')], { env: { ...process.env, PORT: '0', NAME: name }, stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => {
    child.kill('SIGKILL');
  });
  let out = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (d: string) => (out += d));
  const end = Date.now() + 10000;
  let m: RegExpExecArray | null = null;
  while ((m = /listening on 127\.0\.0\.1:(\d+)/.exec(out)) === null) {
    if (Date.now() > end || child.exitCode !== null) throw new Error(`httpbin ${name} did not start: ${out}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  const port = Number(m[1]);
  return { port, requests: () => out.split('\n').filter((l) => / "[A-Z]+ \//.test(l)) };
}

/** Runs examples/tasks/circuit-breaking/load.js with `args`; resolves its output and `Code NNN : K` counts. */
export function runLoad(args: readonly string[]): Promise<{ out: string; codes: Map<number, number> }> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [path.join(TASKS_DIR, 'circuit-breaking', 'load.js'), ...args], { timeout: 60000 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`load.js ${args.join(' ')}: ${stderr || err.message}`));
      const codes = new Map<number, number>();
      for (const m of stdout.matchAll(/^Code (-?\d+) : (\d+) \(/gm)) codes.set(Number(m[1]), Number(m[2]));
      resolve({ out: stdout, codes });
    });
  });
}

/** A port free on `host` now (the system's pick). */
export async function freePort(host: string): Promise<number> {
  const s = net.createServer();
  s.listen(0, host);
  await once(s, 'listening');
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}
