// hashicorp/http-echo's stand-in: answers every request with the text given (`-text=...`).
import http from 'node:http';

const text = (process.argv.find((a) => a.startsWith('-text=')) ?? '-text=Hello from backend service').slice('-text='.length);
const port = Number(process.env.PORT ?? 5678);
http
  .createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
    res.end(`${text}\n`);
  })
  .listen(port, '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
