/**
 * The base image the image test builds the Dockerfile on, assembled here with no registry:
 * Debian bookworm from debootstrap (from the apt mirror this machine uses), build tools and
 * iptables from apt inside it, and this machine's own node, npm and Node headers laid out as
 * the official node images do (/usr/local/bin/node, /usr/local/lib/node_modules/npm,
 * /usr/local/include/node), with `npm_config_nodedir=/usr/local` so node-gyp downloads nothing.
 * The CA certificates this machine added (/usr/local/share/ca-certificates) go in too, so npm
 * inside reaches the registry the way the host does.
 *
 * Kept in the test's buildah storage as localhost/minimesh-base:bookworm-node<version>: a
 * second run finds it and skips all this. BASE_RECIPE, in a label, says when it is stale.
 */
import { existsSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Buildah } from './buildah.js';
import { progress, runLogged, secondsSince } from './image-tools.js';

/** Bump when the steps below change: a base with another recipe is rebuilt. */
export const BASE_RECIPE = '1';
const RECIPE_LABEL = 'minimesh.base-recipe';
const SUITE = 'bookworm';
const PACKAGES = ['python3', 'make', 'g++', 'iptables', 'ca-certificates'];
const PATH_IN_IMAGE = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
/** Where the base holds Node's headers: `npm_config_nodedir`. */
export const NODEDIR_IN_IMAGE = '/usr/local';

export interface NodeInstall {
  readonly version: string;
  readonly node: string;
  /** The npm package folder. */
  readonly npm: string;
  /** A folder holding common.gypi, node_version.h ... (include/node). */
  readonly headers: string;
}

function npmFolder(): string | undefined {
  const beside = join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm');
  if (existsSync(join(beside, 'package.json'))) return realpathSync(beside);
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (!existsSync(join(dir, 'npm'))) continue;
    for (let d = dirname(realpathSync(join(dir, 'npm'))); d !== dirname(d); d = dirname(d)) {
      const pkg = join(d, 'package.json');
      if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'npm') return d;
    }
  }
  return undefined;
}

/** Headers whose node_version.h is this node's version. */
function headersFolder(version: string): string | undefined {
  const [major, minor, patch] = version.split('.');
  const candidates = [
    join(dirname(process.execPath), '..', 'include', 'node'),
    join(homedir(), '.cache', 'node-gyp', version, 'include', 'node'),
    ...(process.env.npm_config_nodedir ? [join(process.env.npm_config_nodedir, 'include', 'node')] : []),
  ];
  return candidates.find((dir) => {
    const h = join(dir, 'node_version.h');
    if (!existsSync(join(dir, 'common.gypi')) || !existsSync(h)) return false;
    const text = readFileSync(h, 'utf8');
    const has = (name: string, v: string | undefined): boolean => new RegExp(`#define ${name} ${v}\\b`).test(text);
    return has('NODE_MAJOR_VERSION', major) && has('NODE_MINOR_VERSION', minor) && has('NODE_PATCH_VERSION', patch);
  });
}

/** This machine's node, npm and headers, or why they cannot go into an image. */
export function findNodeInstall(): NodeInstall | string {
  const version = process.versions.node;
  const npm = npmFolder();
  if (npm === undefined) return `npm's package folder not found beside ${process.execPath} nor on PATH`;
  const headers = headersFolder(version);
  if (headers === undefined) return `the headers of node ${version} (include/node) not found beside ${process.execPath} nor in ~/.cache/node-gyp/${version}`;
  return { version, node: process.execPath, npm, headers };
}

/** The Debian mirror of an apt sources text (one-line or deb822), or undefined. */
export function debianMirror(sourcesText: string): string | undefined {
  const oneLine = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+bookworm\s/m.exec(sourcesText);
  if (oneLine) return oneLine[1];
  for (const stanza of sourcesText.split(/\n\s*\n/)) {
    const uris = /^URIs:\s*(\S+)/m.exec(stanza)?.[1];
    const suites = /^Suites:\s*(.+)$/m.exec(stanza)?.[1]?.split(/\s+/) ?? [];
    if (uris !== undefined && suites.includes(SUITE)) return uris;
  }
  return undefined;
}

/** The mirror this machine's apt uses for bookworm, else deb.debian.org. */
export function machineDebianMirror(): string {
  const files = ['/etc/apt/sources.list'];
  if (existsSync('/etc/apt/sources.list.d')) {
    for (const f of readdirSync('/etc/apt/sources.list.d').sort()) if (/\.(list|sources)$/.test(f)) files.push(join('/etc/apt/sources.list.d', f));
  }
  for (const f of files) {
    const mirror = existsSync(f) ? debianMirror(readFileSync(f, 'utf8')) : undefined;
    if (mirror !== undefined) return mirror;
  }
  return 'http://deb.debian.org/debian';
}

export function baseImageName(node: NodeInstall): string {
  return `localhost/minimesh-base:${SUITE}-node${node.version}`;
}

/** debootstrap's per-package lines ("I: Retrieving libc6 2.36-9", "I: Unpacking bash...") are left out. */
function debootstrapPhase(line: string): boolean {
  return /^[IEW]: /.test(line) && !/^I: (Retrieving|Validating) \S+ \S*\d/.test(line) && !/^I: (Extracting|Unpacking|Configuring) \S+\.\.\.$/.test(line);
}

function aptPhase(line: string): boolean {
  return /^(Fetched|Need to get|\d+ upgraded|E: )/.test(line) && !line.includes('Can not write log');
}

/** The base image's name; assembles and commits it first unless the storage has it at this recipe. */
export async function ensureBaseImage(b: Buildah, node: NodeInstall): Promise<string> {
  const name = baseImageName(node);
  if (b.imageConfig(name)?.Labels?.[RECIPE_LABEL] === BASE_RECIPE) {
    progress(`base: ${name} is already in ${b.workDir} (recipe ${BASE_RECIPE})`);
    return name;
  }
  const containerName = 'minimesh-base-assembly';
  b.removeContainer(containerName);
  const c = b.must(['from', '--name', containerName, 'scratch']);
  let committed = false;
  try {
    const root = b.must(['mount', c]);
    const mirror = machineDebianMirror();
    let t0 = Date.now();
    progress(`base: debootstrap --variant=minbase ${SUITE} from ${mirror}`);
    await runLogged('debootstrap', ['--variant=minbase', SUITE, root, mirror], { label: 'debootstrap', logFile: b.logFile, show: debootstrapPhase });
    progress(`base: debootstrap done in ${secondsSince(t0)} s`);

    t0 = Date.now();
    const localCas = '/usr/local/share/ca-certificates';
    if (existsSync(localCas) && readdirSync(localCas).length > 0) {
      // Before ca-certificates is installed: its setup adds them to the bundle.
      await runLogged('cp', ['-a', `${localCas}/.`, join(root, localCas)], { label: 'base', logFile: b.logFile });
    }
    const apt = `apt-get update && apt-get install -y --no-install-recommends -o Dpkg::Options::=--force-unsafe-io ${PACKAGES.join(' ')} && apt-get clean && rm -rf /var/lib/apt/lists/*`;
    progress(`base: apt-get install ${PACKAGES.join(' ')}`);
    await runLogged('chroot', [root, '/usr/bin/env', '-i', `PATH=${PATH_IN_IMAGE}`, 'HOME=/root', 'DEBIAN_FRONTEND=noninteractive', 'sh', '-c', apt], {
      label: 'apt',
      logFile: b.logFile,
      show: aptPhase,
    });
    progress(`base: apt done in ${secondsSince(t0)} s`);

    progress(`base: node ${node.version} from ${node.node}, npm from ${node.npm}, headers from ${node.headers}`);
    const local = join(root, 'usr', 'local');
    const copies: [string, string][] = [
      [node.node, join(local, 'bin', 'node')],
      [node.npm, join(local, 'lib', 'node_modules', 'npm')],
      [node.headers, join(local, 'include', 'node')],
    ];
    for (const [from, to] of copies) {
      await runLogged('mkdir', ['-p', dirname(to)], { label: 'base', logFile: b.logFile });
      await runLogged('cp', ['-a', '-H', from, to], { label: 'base', logFile: b.logFile });
    }
    for (const tool of ['npm', 'npx']) {
      await runLogged('ln', ['-sf', `../lib/node_modules/npm/bin/${tool}-cli.js`, join(local, 'bin', tool)], { label: 'base', logFile: b.logFile });
    }
    const check = await runLogged('chroot', [root, '/usr/bin/env', '-i', `PATH=${PATH_IN_IMAGE}`, 'sh', '-c', 'node --version && npm --version'], { label: 'base', logFile: b.logFile });
    progress(`base: in the base, node and npm answer ${check.trim().replace(/\n/g, ', ')}`);

    b.must(['umount', c]);
    b.must([
      'config',
      '--env', `PATH=${PATH_IN_IMAGE}`,
      '--env', `npm_config_nodedir=${NODEDIR_IN_IMAGE}`,
      '--env', 'NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt',
      '--label', `${RECIPE_LABEL}=${BASE_RECIPE}`,
      '--cmd', 'node',
      c,
    ]);
    t0 = Date.now();
    await b.run(['commit', '--rm', c, name], { label: 'commit', show: (l) => /^Writing manifest/.test(l) });
    committed = true;
    progress(`base: committed ${name} in ${secondsSince(t0)} s`);
    return name;
  } finally {
    if (!committed) b.sync(['rm', c]);
  }
}
