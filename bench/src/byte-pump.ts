// The floor of the bench: a bare Node byte pump. Each accepted connection gets its own
// connection to the upstream and bytes are piped both ways, untouched: no HTTP parsing, no
// routing, no headers, no metrics. What it costs per request (CPU, latency, memory) is what
// Node itself costs to move a request and its response through one process (two reads and two
// writes per request), the part of a minimesh hop no proxy code can remove.
//
//   node bench/dist/src/byte-pump.js LISTEN_PORT UPSTREAM_PORT
import net from 'node:net';

function main(): void {
  const [listen, upstream] = process.argv.slice(2).map(Number);
  if (!Number.isInteger(listen) || !Number.isInteger(upstream)) throw new Error('usage: byte-pump LISTEN_PORT UPSTREAM_PORT');
  const server = net.createServer({ noDelay: true }, (client) => {
    const up = net.connect({ host: '127.0.0.1', port: upstream, noDelay: true });
    client.pipe(up);
    up.pipe(client);
    const close = (): void => {
      client.destroy();
      up.destroy();
    };
    client.on('error', close);
    up.on('error', close);
    client.on('close', close);
    up.on('close', close);
  });
  server.listen(listen, '127.0.0.1', () => process.stdout.write(`byte pump on 127.0.0.1:${listen} -> 127.0.0.1:${upstream}\n`));
  process.on('SIGTERM', () => process.exit(0));
}

main();
