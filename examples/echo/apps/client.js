// The lab's client pod (`while true; do sleep 10; curl echo-service.client.svc.cluster.local; done`):
// calls the echo service by its service name, in a loop, through its sidecar. Without iptables
// the sidecar's outbound listener (HTTP_PROXY, POD_IP:15001) is a plain forward proxy: the
// request goes out in absolute form (`GET http://echo-service.client.svc.cluster.local/`), as
// `curl -x` sends it, and the sidecar routes it by that name.
import http from 'node:http';

const target = new URL(process.env.TARGET_URL ?? 'http://echo-service.client.svc.cluster.local/');
const proxy = new URL(process.env.HTTP_PROXY ?? 'http://127.0.0.1:15001');
const intervalMs = Number(process.env.INTERVAL_MS ?? 1000);

function once() {
  const started = Date.now();
  const req = http.request({ host: proxy.hostname, port: Number(proxy.port), method: 'GET', path: target.href, headers: { host: target.host, 'user-agent': 'curl/8 (minimesh client)' } }, (res) => {
    let body = '';
    res.setEncoding('utf8');
    res.on('data', (d) => (body += d));
    res.on('end', () => {
      const t = res.headers['x-envoy-upstream-service-time'] ?? '-';
      const time = new Date().toISOString().slice(11, 19);
      console.log(`${time} GET ${target.href} -> ${res.statusCode} ${JSON.stringify(body.trim())} x-envoy-upstream-service-time: ${t} server: ${res.headers.server ?? '-'} (${Date.now() - started} ms)`);
    });
  });
  req.on('error', (e) => console.log(`GET ${target.href} failed: ${e.message}`));
  req.end();
}

once();
setInterval(once, intervalMs);
process.on('SIGTERM', () => process.exit(0));
