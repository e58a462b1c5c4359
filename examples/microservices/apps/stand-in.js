// A stand-in for lab-09's customer-ms / order-ms images: answers `[]` (an empty JSON list) on
// its one path, 404 elsewhere. PORT and SERVICE_PATH come from the environment.
import http from 'node:http';

const port = Number(process.env.PORT);
const servicePath = process.env.SERVICE_PATH;
http
  .createServer((req, res) => {
    if (req.url?.split('?')[0] === servicePath) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('[]');
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found\n');
    }
  })
  .listen(port, '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
