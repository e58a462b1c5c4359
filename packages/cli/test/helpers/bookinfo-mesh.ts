/**
 * Bookinfo in the in-process local mesh, for the traffic-task tests: the example's apps
 * (examples/tasks/bookinfo/apps.js, one real process per version) behind sidecars on
 * 127.0.0.171-177, the example's YAML as the control plane's folder (each resource in its own
 * `Kind-name.yaml`, so applying a file replaces resources of the same kind and name as
 * `kubectl apply` does). Container ports are picked free for the run. Not a test file.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { parseManifests } from '@minimesh/kube';
import { httpGet, startLocalMesh, until, type Reply, type Teardown, type Workload } from './local-mesh.js';

/** packages/cli/dist/test/helpers -> the repository root. */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..', '..');
export const EXAMPLE = path.join(REPO_ROOT, 'examples', 'tasks', 'bookinfo');
export const NETWORKING = path.join(EXAMPLE, 'networking');
export const PRODUCTPAGE_URL = 'http://productpage:9080/productpage';

interface BookinfoPod extends Workload {
  readonly service: string;
  readonly version: string;
}
const pod = (service: string, version: string, ip: string): BookinfoPod => ({ service, version, ip, name: `${service}-${version}`, namespace: 'default', serviceAccount: `bookinfo-${service}`, labels: { app: service, version } });
export const PODS: readonly BookinfoPod[] = [
  pod('details', 'v1', '127.0.0.172'),
  pod('ratings', 'v1', '127.0.0.173'),
  pod('reviews', 'v1', '127.0.0.174'),
  pod('reviews', 'v2', '127.0.0.175'),
  pod('reviews', 'v3', '127.0.0.176'),
  pod('productpage', 'v1', '127.0.0.177'),
];
export const SLEEP: Workload = { ip: '127.0.0.171', name: 'sleep', namespace: 'default', serviceAccount: 'sleep', labels: { app: 'sleep' } };
export const podNamed = (name: string): BookinfoPod => PODS.find((p) => p.name === name)!;

interface Resource {
  kind: string;
  metadata: { name: string };
  spec?: { template?: { spec?: { containers?: { ports?: { containerPort: number }[] }[] } } };
}

/** The resources of a YAML file (throws on a document that does not parse). */
export function resourcesOf(file: string): Resource[] {
  return parseManifests(fs.readFileSync(file, 'utf8')).map((d) => {
    if (d.error !== undefined) throw new Error(`${file}: ${d.error}`);
    return d.value as Resource;
  });
}

async function freePort(): Promise<number> {
  const s = net.createServer().listen(0, '127.0.0.1');
  await once(s, 'listening');
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

export interface BookinfoMesh {
  /** `kubectl apply -f FILE`: each resource of the file replaces the one of its kind and name. */
  apply(file: string): void;
  /** The product page through the sleep sidecar (as `curl -x SLEEP:15001`), as `user` when given. */
  page(user?: string, timeoutMs?: number): Promise<Reply>;
  /** Polls a sidecar's routes until they hold every string of `has` and none of `lacks`. */
  untilRoutes(p: Workload, has: readonly string[], lacks?: readonly string[]): Promise<void>;
}

/** What a product page shows: the reviews version and stars, or which error. */
export function summarize(body: string): string {
  if (body.includes('Sorry, product reviews are currently unavailable for this book.')) return 'reviews unavailable';
  const version = /reviews-(v\d)\)/.exec(body)?.[1];
  if (version === undefined) return `no page: ${body.slice(0, 200)}`;
  if (body.includes('Ratings service is currently unavailable')) return `${version} ratings unavailable`;
  const stars = /\((black|red) stars\)/.exec(body)?.[1];
  return `${version} ${stars ?? 'no'} stars`;
}

export async function startBookinfoMesh(t: Teardown): Promise<BookinfoMesh> {
  const ports = new Map<string, number>();
  for (const p of PODS) ports.set(p.name, await freePort());
  const mesh = await startLocalMesh(t, {}, { identities: [...PODS, SLEEP] });
  const apply = (file: string, edit: (r: Resource) => Resource = (r) => r): void => {
    for (const r of resourcesOf(file)) mesh.write(`${r.kind}-${r.metadata.name}.yaml`, JSON.stringify(edit(r)));
  };
  // The example's Bookinfo with this run's container ports.
  apply(path.join(EXAMPLE, 'k8s', 'bookinfo.yaml'), (r) => {
    const port = ports.get(r.metadata.name);
    if (r.kind !== 'Deployment' || port === undefined) return r;
    const copy = structuredClone(r);
    copy.spec!.template!.spec!.containers![0].ports![0].containerPort = port;
    return copy;
  });
  apply(path.join(NETWORKING, 'destination-rule-all.yaml'));
  const exited = new Map<string, string>();
  for (const p of PODS) {
    const child = spawn(process.execPath, [path.join(EXAMPLE, 'apps.js')], {
      env: { ...process.env, SERVICE: p.service, VERSION: p.version, PORT: String(ports.get(p.name)), POD_NAME: `${p.name}-local-00001`, HTTP_PROXY: `http://${p.ip}:15001` },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    child.on('exit', (code, signal) => exited.set(p.name, `exited (${signal ?? `code ${code}`})`));
    t.teardown(() => {
      child.kill('SIGTERM');
    });
  }
  // A busy machine (other tests, builds) can take seconds to start six node processes.
  for (const p of PODS) {
    await until(
      `${p.name} app listens`,
      async () => {
        if (exited.has(p.name)) throw new Error(`${p.name} app ${exited.get(p.name)}`);
        return (await httpGet('127.0.0.1', ports.get(p.name)!, '/health')).status === 200;
      },
      30000,
    );
  }
  await Promise.all([...PODS, SLEEP].map((w) => mesh.sidecar(w)));
  const page = (user?: string, timeoutMs = 15000): Promise<Reply> => httpGet(SLEEP.ip, 15001, PRODUCTPAGE_URL, { host: 'productpage:9080', ...(user !== undefined ? { 'end-user': user } : {}) }, timeoutMs);
  await until('productpage answers through the mesh', async () => !summarize((await page()).body).startsWith('no page'), 30000);
  return {
    apply: (file) => apply(file),
    page,
    untilRoutes: async (p, has, lacks = []) => {
      let routes = '';
      try {
        await until(
          `${p.name}: routes with ${JSON.stringify(has)}, without ${JSON.stringify(lacks)}`,
          async () => {
            const dump = (await (await fetch(`http://${p.ip}:15000/config_dump`)).json()) as { configs: { '@type': string }[] };
            routes = JSON.stringify(dump.configs.filter((c) => c['@type'].endsWith('RoutesConfigDump')));
            return has.every((s) => routes.includes(s)) && !lacks.some((s) => routes.includes(s));
          },
          20000,
        );
      } catch (e) {
        throw new Error(`${(e as Error).message}; last routes: ${routes.slice(0, 3000)}`);
      }
    },
  };
}

/** `n` product pages (five at a time): how many of each summary. */
export async function tally(m: BookinfoMesh, n: number, user?: string): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (let i = 0; i < n; i += 5) {
    const pages = await Promise.all(Array.from({ length: Math.min(5, n - i) }, () => m.page(user)));
    for (const p of pages) {
      const s = summarize(p.body);
      counts[s] = (counts[s] ?? 0) + 1;
    }
  }
  return counts;
}

/** `outbound|9080|SUBSET|SERVICE.default.svc.cluster.local`, quoted as in the routes' JSON. */
export const subsetCluster = (service: string, subset: string): string => `"outbound|9080|${subset}|${service}.default.svc.cluster.local"`;
