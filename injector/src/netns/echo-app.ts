/**
 * The echo app of the interception tests: answers every request on the ports given with
 * JSON naming the port it was reached on, the peer it saw and the client certificate its
 * sidecar forwarded. Run as a plain uid.
 */
import http from 'node:http';

// Each argument: PORT (on 0.0.0.0, so the pod's address reaches it) or HOST:PORT
// (e.g. 127.0.0.1:PORT, an app that must stay private to the pod).
for (const arg of process.argv.slice(2)) {
  const i = arg.lastIndexOf(':');
  const host = i === -1 ? '0.0.0.0' : arg.slice(0, i);
  const port = Number(i === -1 ? arg : arg.slice(i + 1));
  http
    .createServer((req, res) => {
      // x-forwarded-client-cert: the client's identity as the pod's sidecar verified it (mTLS).
      const body = JSON.stringify({ port, peer: req.socket.remoteAddress, host: req.headers.host, uid: process.getuid?.(), xfcc: req.headers['x-forwarded-client-cert'] });
      res.writeHead(200, { 'content-type': 'application/json', 'x-echo-port': String(port) });
      res.end(body);
    })
    .listen(port, host, () => process.stdout.write(`echo listening on ${host}:${port}\n`));
}
