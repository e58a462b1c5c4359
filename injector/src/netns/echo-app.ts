/**
 * The echo app of the interception tests: answers every request on the ports given with
 * JSON naming the port it was reached on and the peer it saw. Run as a plain uid.
 */
import http from 'node:http';

const ports = process.argv.slice(2).map(Number);
for (const port of ports) {
  http
    .createServer((req, res) => {
      const body = JSON.stringify({ port, peer: req.socket.remoteAddress, host: req.headers.host, uid: process.getuid?.() });
      res.writeHead(200, { 'content-type': 'application/json', 'x-echo-port': String(port) });
      res.end(body);
    })
    .listen(port, '0.0.0.0', () => process.stdout.write(`echo listening on ${port}\n`));
}
