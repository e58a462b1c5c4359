// Small helpers the httpbin tasks' run.js share: the stand-in's path, a step heading, one
// request (straight or through a sidecar's forward proxy, as `curl -x` does), polling with a
// deadline, running a node script and reading the lines a process logged.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const HTTPBIN = path.join(here, 'httpbin.js');

export function step(title) {
  console.log(`\n=== ${title}`);
}

/**
 * GET (or HEAD) `url`: through `proxy` ("IP:PORT", absolute-form request) when given, else
 * straight to the URL's address. Resolves { status, headers, body }.
 */
export function request(url, { proxy, method = 'GET', headers = {} } = {}) {
  const u = new URL(url);
  const [host, port] = proxy ? proxy.split(':') : [u.hostname, u.port || '80'];
  return new Promise((resolve, reject) => {
    const req = http.request({ host, port: Number(port), method, path: proxy ? u.href : `${u.pathname}${u.search}`, headers: { host: u.host, ...headers }, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body }));
    });
    req.setTimeout(10000, () => req.destroy(new Error(`${url}: no answer within 10 s`)));
    req.on('error', reject);
    req.end();
  });
}

/** Polls `cond` every 100 ms until it returns a truthy value (returned) or `ms` pass (throws, naming `what`). */
export async function until(what, cond, ms = 30000) {
  const end = Date.now() + ms;
  let last = '';
  while (Date.now() < end) {
    try {
      const v = await cond();
      if (v) return v;
    } catch (e) {
      last = ` (${e.message})`;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what}: not within ${ms} ms${last}`);
}

/** Runs `node script ...args`; resolves its stdout (rejects with its stderr when it fails). */
export function runNode(script, args) {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [script, ...args], { maxBuffer: 1 << 24 }, (err, stdout, stderr) => (err ? reject(new Error(`${path.basename(script)} ${args.join(' ')}: ${stderr || err.message}`)) : resolve(stdout)));
  });
}

/** The lines of a log file (missing: none). */
export function logLines(file) {
  return fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').filter((l) => l !== '') : [];
}

/** The file the local mesh writes a process's output to (LocalMesh.spawn's naming). */
export function logFileOf(mesh, label) {
  return path.join(mesh.logDir, `${label.replace(/[^\w.-]+/g, '_')}.log`);
}
