/**
 * The dashboard's static files: the live graph page (`GET /` and `/web/*`, from the package's
 * `web/` folder, shipped as is) and the two browser scripts it needs from our own dependencies
 * (`/vendor/cytoscape.min.js`, `/vendor/cytoscape-dagre.min.js`), so the page works with no
 * network access. The dashboard server calls the handler first; it answers `false` for any
 * path it does not own. GET and HEAD only; paths cannot leave the `web/` folder.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { IncomingMessage, ServerResponse } from 'node:http';

export type DashboardAssets = (req: IncomingMessage, res: ServerResponse) => boolean;

export interface DashboardAssetsOptions {
  /** The folder holding index.html, app.js, ...; default: the package's `web/`. */
  readonly webDir?: string;
}

/** `control-plane/web/`, from `control-plane/dist/src/dashboard/` (the compiled file). */
export const DEFAULT_WEB_DIR = fileURLToPath(new URL('../../../web/', import.meta.url));

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
};

/** The vendor scripts: URL name -> (package, file inside the package). */
const VENDOR: Record<string, { pkg: string; file: string }> = {
  'cytoscape.min.js': { pkg: 'cytoscape', file: 'dist/cytoscape.min.js' },
  'cytoscape-dagre.min.js': { pkg: 'cytoscape-dagre', file: 'dist/cytoscape-dagre.min.js' },
};

/** A package's folder, found through its package.json (both packages export it, or have no exports map). */
function packageDir(pkg: string): string {
  const require = createRequire(import.meta.url);
  try {
    return path.dirname(require.resolve(`${pkg}/package.json`));
  } catch {
    // No "./package.json" export: walk up from the main entry to the folder named after the package.
    let dir = path.dirname(require.resolve(pkg));
    while (path.basename(dir) !== pkg && path.dirname(dir) !== dir) dir = path.dirname(dir);
    return dir;
  }
}

function send(req: IncomingMessage, res: ServerResponse, status: number, headers: Record<string, string | number>, body: Buffer): void {
  res.writeHead(status, { ...headers, 'content-length': body.length, 'x-content-type-options': 'nosniff' });
  res.end(req.method === 'HEAD' ? undefined : body);
}

function notFound(req: IncomingMessage, res: ServerResponse, why: string): void {
  send(req, res, 404, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' }, Buffer.from(`404 ${why}\n`));
}

export function createDashboardAssets(options: DashboardAssetsOptions = {}): DashboardAssets {
  const webDir = path.resolve(options.webDir ?? DEFAULT_WEB_DIR);
  const vendorCache = new Map<string, Buffer>();

  const vendor = (name: string): Buffer | undefined => {
    const v = VENDOR[name];
    if (!v) return undefined;
    let body = vendorCache.get(name);
    if (!body) {
      body = fs.readFileSync(path.join(packageDir(v.pkg), v.file));
      vendorCache.set(name, body);
    }
    return body;
  };

  /** A file under webDir, or undefined when the path is outside it, hidden, or not a file. */
  const webFile = (rel: string): string | undefined => {
    if (rel.includes('\0')) return undefined;
    const file = path.resolve(webDir, `.${path.posix.sep}${rel}`);
    if (!file.startsWith(webDir + path.sep)) return undefined;
    if (path.relative(webDir, file).split(path.sep).some((part) => part.startsWith('.'))) return undefined;
    try {
      return fs.statSync(file).isFile() ? file : undefined;
    } catch {
      return undefined;
    }
  };

  return (req, res) => {
    let pathname: string;
    try {
      pathname = new URL(req.url ?? '/', 'http://dashboard').pathname;
    } catch {
      return false;
    }
    const owned = pathname === '/' || pathname === '/index.html' || pathname.startsWith('/web/') || pathname.startsWith('/vendor/');
    if (!owned) return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(req, res, 405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' }, Buffer.from('405 method not allowed\n'));
      return true;
    }
    let decoded: string;
    try {
      decoded = decodeURIComponent(pathname);
    } catch {
      notFound(req, res, 'bad path');
      return true;
    }
    try {
      if (decoded.startsWith('/vendor/')) {
        const body = vendor(decoded.slice('/vendor/'.length));
        if (!body) notFound(req, res, 'no such vendor script');
        // The content changes only with the installed package version: cache for a day.
        else send(req, res, 200, { 'content-type': CONTENT_TYPES['.js']!, 'cache-control': 'public, max-age=86400' }, body);
        return true;
      }
      const rel = decoded === '/' || decoded === '/index.html' ? 'index.html' : decoded.slice('/web/'.length);
      const file = webFile(rel);
      if (!file) {
        notFound(req, res, 'no such file');
        return true;
      }
      const type = CONTENT_TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
      // The page's own files are small and change with every upgrade: always revalidate.
      send(req, res, 200, { 'content-type': type, 'cache-control': 'no-cache' }, fs.readFileSync(file));
    } catch (e) {
      send(req, res, 500, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' }, Buffer.from(`500 ${(e as Error).message}\n`));
    }
    return true;
  };
}
