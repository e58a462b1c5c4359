// The TCP traffic shifting task's client in Node: one `echo LINE | nc HOST PORT` (echoOnce).
import net from 'node:net';

/** Connects, sends `line`, ends its side and resolves what came back (trimmed) once the server closes. */
export function echoOnce(host, port, line, timeoutMs = 5000) {
  return new Promise((resolve, reject) => {
    let reply = '';
    const socket = net.connect({ host, port }, () => socket.end(`${line}\n`));
    socket.setEncoding('utf8');
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`no answer from ${host}:${port} within ${timeoutMs} ms`)));
    socket.on('data', (d) => (reply += d));
    socket.on('close', () => resolve(reply.trim()));
    socket.on('error', reject);
  });
}
