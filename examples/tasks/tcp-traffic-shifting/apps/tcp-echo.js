#!/usr/bin/env node
// A stand-in for the tcp-echo sample's server (`tcp-echo-server 9000,9001,9002 one`): it listens
// on each port of PORTS (comma separated, on 127.0.0.1: inside its pod) and answers every line a
// client sends with the line prefixed by PREFIX and a space ("hello" -> "one hello"). A client
// that ends its side gets the rest answered, then the connection closes. PORTS=0 picks free
// ports; the ports taken are printed as one JSON line: {"listening":[9000,9001]}.
import net from 'node:net';

const prefix = process.env.PREFIX ?? 'one';
const host = process.env.LISTEN_ADDRESS ?? '127.0.0.1';
const ports = (process.env.PORTS ?? '9000').split(',').map((p) => Number(p.trim()));
if (ports.some((p) => !Number.isInteger(p) || p < 0 || p > 65535)) {
  console.error(`tcp-echo: PORTS must be port numbers separated by commas (got ${JSON.stringify(process.env.PORTS)})`);
  process.exit(2);
}

function serve(socket) {
  let pending = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk) => {
    pending += chunk;
    let i;
    while ((i = pending.indexOf('\n')) >= 0) {
      socket.write(`${prefix} ${pending.slice(0, i)}\n`);
      pending = pending.slice(i + 1);
    }
  });
  socket.on('end', () => socket.end(pending.length > 0 ? `${prefix} ${pending}\n` : undefined));
  socket.on('error', () => socket.destroy());
}

const listening = await Promise.all(
  ports.map(
    (port) =>
      new Promise((resolve, reject) => {
        const server = net.createServer(serve);
        server.once('error', (e) => reject(new Error(`tcp-echo: cannot listen on ${host}:${port}: ${e.message}`)));
        server.listen(port, host, () => resolve(server.address().port));
      }),
  ),
).catch((e) => {
  console.error(e.message);
  process.exit(1);
});
console.log(JSON.stringify({ listening, prefix }));
process.on('SIGTERM', () => process.exit(0));
