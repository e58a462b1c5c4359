/**
 * The dashboard's static files over a real HTTP server: the page, its scripts, the vendor
 * scripts from our own dependencies, content types and caching, 404s, HEAD, and no way out of
 * the web folder.
 */
import t from 'tap';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { createDashboardAssets, DEFAULT_WEB_DIR } from '../src/dashboard/dashboard-assets.js';

interface Got {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A raw request: the path goes on the wire exactly as given (no URL normalisation). */
function request(port: number, rawPath: string, method = 'GET'): Promise<Got> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: rawPath, method }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function serve(t: { teardown(fn: () => unknown): void }, webDir?: string): Promise<number> {
  const assets = createDashboardAssets(webDir ? { webDir } : {});
  const server = http.createServer((req, res) => {
    if (assets(req, res)) return;
    res.writeHead(418, { 'content-type': 'text/plain' });
    res.end('not the assets\n');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  return (server.address() as AddressInfo).port;
}

t.test('the page, its files and the vendor scripts', async (t) => {
  const port = await serve(t);
  const index = await request(port, '/');
  t.equal(index.status, 200);
  t.equal(index.headers['content-type'], 'text/html; charset=utf-8');
  t.equal(index.headers['cache-control'], 'no-cache');
  t.match(index.body, '<title>minimesh — mesh graph</title>');
  for (const src of ['/vendor/cytoscape.min.js', '/vendor/cytoscape-dagre.min.js', '/web/app.js', '/web/style.css']) t.match(index.body, src, `the page loads ${src}`);

  const app = await request(port, '/web/app.js');
  t.equal(app.status, 200);
  t.equal(app.headers['content-type'], 'text/javascript; charset=utf-8');
  t.equal(app.body, fs.readFileSync(path.join(DEFAULT_WEB_DIR, 'app.js'), 'utf8'), 'served from the package web/ folder');
  t.equal((await request(port, '/web/style.css')).headers['content-type'], 'text/css; charset=utf-8');
  t.equal((await request(port, '/web/favicon.svg')).headers['content-type'], 'image/svg+xml');

  const cy = await request(port, '/vendor/cytoscape.min.js');
  t.equal(cy.status, 200);
  t.equal(cy.headers['content-type'], 'text/javascript; charset=utf-8');
  t.match(cy.headers['cache-control'], /max-age=\d+/);
  t.match(cy.body, /cytoscape/);
  t.equal(Number(cy.headers['content-length']), Buffer.byteLength(cy.body));
  const dagre = await request(port, '/vendor/cytoscape-dagre.min.js');
  t.equal(dagre.status, 200);
  t.match(dagre.body, /"dagre"/, 'the dagre layout registers under its name');
  t.equal((await request(port, '/vendor/cytoscape.min.js')).body, cy.body, 'cached copy answers the same');

  const head = await request(port, '/vendor/cytoscape.min.js', 'HEAD');
  t.equal(head.status, 200);
  t.equal(head.body, '', 'HEAD has no body');
  t.equal(head.headers['content-length'], cy.headers['content-length'], 'HEAD gives the length');
  t.equal((await request(port, '/', 'HEAD')).body, '');
  t.equal((await request(port, '/', 'POST')).status, 405);
});

t.test('unknown files are 404; other paths are left to the server', async (t) => {
  const port = await serve(t);
  t.equal((await request(port, '/web/nope.js')).status, 404);
  t.equal((await request(port, '/web/')).status, 404, 'a folder is not a file');
  t.equal((await request(port, '/vendor/lodash.js')).status, 404);
  t.equal((await request(port, '/vendor/cytoscape.min.js.map')).status, 404);
  t.equal((await request(port, '/api/namespaces')).status, 418, 'API paths are not the handler’s');
  t.equal((await request(port, '/favicon.ico')).status, 418);
});

t.test('no path leaves the web folder', async (t) => {
  // A web folder inside a temp dir, next to a secret the handler must never serve.
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'mm-assets-'));
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
  const web = path.join(root, 'web');
  fs.mkdirSync(web);
  fs.writeFileSync(path.join(web, 'index.html'), '<title>x</title>');
  fs.writeFileSync(path.join(web, '.hidden'), 'hidden');
  fs.writeFileSync(path.join(root, 'secret.txt'), 'SECRET');
  fs.mkdirSync(path.join(root, 'web-other'));
  fs.writeFileSync(path.join(root, 'web-other', 'x.txt'), 'SECRET');
  const port = await serve(t, web);
  for (const p of [
    '/web/../secret.txt',
    '/web/%2e%2e/secret.txt',
    '/web/..%2fsecret.txt',
    '/web/..%2Fsecret.txt',
    '/web/%2e%2e%2fsecret.txt',
    '/web/..%5csecret.txt',
    '/web/....//secret.txt',
    '/web/../web-other/x.txt',
    '/web/..%2fweb-other%2fx.txt',
    '/web//etc/passwd',
    '/web/%2fetc%2fpasswd',
    '/web/%00index.html',
    '/web/.hidden',
    '/web/%2ehidden',
    '/vendor/..%2f..%2fpackage.json',
    '/web/%E0%A4%A',
  ]) {
    const got = await request(port, p);
    t.not(got.status, 200, `${p} is refused (${got.status})`);
    t.notMatch(got.body, /SECRET|root:|hidden/, `${p} leaks nothing`);
  }
  t.equal((await request(port, '/web/index.html')).status, 200, 'a file inside is served');
});

t.test('the package ships the web folder next to the compiled handler', async (t) => {
  // dist/test/ -> the package root; `npm pack --dry-run` lists what an install gets.
  const pkgRoot = path.resolve(DEFAULT_WEB_DIR, '..');
  t.ok(fs.existsSync(path.join(pkgRoot, 'package.json')), 'web/ sits at the package root, where the compiled file looks');
  const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: pkgRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 60_000 });
  const files = new Set((JSON.parse(out) as { files: { path: string }[] }[])[0]!.files.map((f) => f.path));
  t.ok(files.has('dist/src/dashboard/dashboard-assets.js'), 'the handler ships');
  for (const f of fs.readdirSync(DEFAULT_WEB_DIR)) t.ok(files.has(`web/${f}`), `web/${f} ships`);
});
