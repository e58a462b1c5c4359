// The walkthrough's server app: answers every request with its method, its path and who called,
// read from the x-forwarded-client-cert header the sidecar adds when the caller presented its
// mesh certificate (URI=spiffe://...).
import http from 'node:http';

const port = Number(process.env.PORT ?? 8000);

/** The caller's identity in XFCC (`By=...;Hash=...;URI=spiffe://...`), or undefined. */
export function callerOf(xfcc) {
  if (typeof xfcc !== 'string') return undefined;
  const last = xfcc.split(',').pop() ?? '';
  return /(?:^|;)URI=([^;]+)/.exec(last)?.[1];
}

http
  .createServer((req, res) => {
    const caller = callerOf(req.headers['x-forwarded-client-cert']) ?? 'no client certificate (plaintext)';
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
    res.end(`echo: ${req.method} ${req.url} from ${caller}\n`);
  })
  .listen(port, '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
