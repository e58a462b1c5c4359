// The locality tasks' client: `curl -sSL helloworld.sample:5000/hello` from the sleep pod, i.e.
// through its sidecar's forward proxy (the local mesh's outbound capture), and the version that
// answered ("Hello version: region1.zone1, ..." -> "region1.zone1"; else the status).
import http from 'node:http';

export const HELLO_URL = 'http://helloworld.sample:5000/hello';

/** One GET of /hello through the sidecar at `sleepIp`:15001; resolves the answering version, or `HTTP <status>`. */
export function helloVersion(sleepIp, timeoutMs = 5000) {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: sleepIp, port: 15001, path: HELLO_URL, headers: { host: 'helloworld.sample:5000' }, agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => {
        const m = /^Hello version: ([^,]+),/.exec(body);
        resolve(res.statusCode === 200 && m ? m[1] : `HTTP ${res.statusCode}`);
      });
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}
