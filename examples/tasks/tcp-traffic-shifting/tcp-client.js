// The TCP traffic shifting task's client in Node: one `echo LINE | nc HOST PORT` (echoOnce), or
// the same from a pod through its sidecar (echoViaSidecar).
import http from 'node:http';
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

/**
 * The same through a sidecar: the local mesh's apps reach their sidecar as an HTTP proxy, so a
 * TCP connection to `target` (host:port) is a CONNECT to the sidecar's 15001, then the line.
 */
export function echoViaSidecar(sidecarIp, target, line, timeoutMs = 5000) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: sidecarIp, port: 15001, method: 'CONNECT', path: target, headers: { host: target }, agent: false });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no tunnel to ${target} within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.on('connect', (res, socket) => {
      if (res.statusCode !== 200) {
        socket.destroy();
        resolve(`HTTP ${res.statusCode}`);
        return;
      }
      let reply = '';
      socket.setEncoding('utf8');
      socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`no answer from ${target} within ${timeoutMs} ms`)));
      socket.on('data', (d) => (reply += d));
      socket.on('close', () => resolve(reply.trim()));
      socket.on('error', reject);
      socket.end(`${line}\n`);
    });
    req.end();
  });
}
