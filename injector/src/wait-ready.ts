/**
 * `minimesh wait-ready`: polls the proxy's readiness URL until it answers 200. The postStart
 * hook of the app-waits-for-proxy mode runs it, so the kubelet starts the app only after.
 */
import http from 'node:http';
import { parseArgs } from 'node:util';
import { PORTS } from '@minimesh/mesh';

function probe(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get(url, { timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
  });
}

export async function waitReadyMain(argv: string[]): Promise<number> {
  let v;
  try {
    v = parseArgs({ args: argv, options: { url: { type: 'string' }, 'timeout-s': { type: 'string' } }, strict: true }).values;
  } catch (e) {
    process.stderr.write(`minimesh wait-ready: ${(e as Error).message}\nUsage: minimesh wait-ready [--url URL] [--timeout-s N]\n`);
    return 2;
  }
  const url = v.url ?? `http://127.0.0.1:${PORTS.health}/healthz/ready`;
  const deadline = Date.now() + Number(v['timeout-s'] ?? '60') * 1000;
  while (Date.now() < deadline) {
    if (await probe(url)) return 0;
    await new Promise((r) => setTimeout(r, 200));
  }
  process.stderr.write(`minimesh wait-ready: ${url} not ready after ${v['timeout-s'] ?? '60'} s\n`);
  return 1;
}
