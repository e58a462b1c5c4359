#!/usr/bin/env node
// `npm start`: the echo lab (task-8) as a local mesh on loopback. A control plane on this
// folder's k8s/ YAML (xDS 127.0.0.1:15010, debug 127.0.0.1:15014); the echo pod on 127.0.0.2
// (http-echo stand-in on :5678 + sidecar); the client pod on 127.0.0.3 (a loop calling
// http://echo-service.client.svc.cluster.local/ through its sidecar + the sidecar).
// Ctrl-C stops every process started here.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LocalMesh } from '../local-mesh.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const echo = { app: 'echo', ip: '127.0.0.2', name: 'echo-deployment-local-00001', namespace: 'client', labels: { app: 'echo' }, appPorts: [5678], listenPorts: [5678] };
const client = { app: 'client', ip: '127.0.0.3', name: 'client-deployment-local-00001', namespace: 'client', labels: { app: 'client' } };

const mesh = new LocalMesh({ name: 'echo', configDir: path.join(here, 'k8s') });
mesh.handleSignals();
await mesh.requireFreePorts([echo, client]);
try {
  await mesh.startControlPlane();
  mesh.startApp(echo, path.join(here, 'apps', 'echo-server.js'), { PORT: '5678' });
  await mesh.startSidecar(echo);
  await mesh.startSidecar(client);
  console.log(`
The echo lab is running: client ${client.ip} -> its sidecar :15001 -> echo sidecar ${echo.ip}:5678 -> echo app 127.0.0.1:5678.
Try:
  npx minimesh proxy-status
  curl -si -x ${client.ip}:15001 http://echo-service.client.svc.cluster.local/
  npx minimesh proxy-config routes ${client.name}.${client.namespace}
  npx minimesh proxy-config clusters ${echo.name}.${echo.namespace}
  npx minimesh proxy-config endpoints ${client.name}.${client.namespace}
  npx minimesh proxy-config secret ${client.name}.${client.namespace}     # its certificate: spiffe://cluster.local/ns/${client.namespace}/sa/default
  curl -s http://${client.ip}:15000/config_dump      # the client sidecar's admin API (also /clusters, /stats)
  curl -s http://127.0.0.1:15014/debug/syncz         # the control plane's view
Edit examples/echo/k8s/*.yaml and the sidecars follow. Ctrl-C stops everything.
Prometheus: the pods' scrape configuration (kubernetes-pods job, file discovery) is ${mesh.prometheus.configFile}; run
  ${mesh.prometheus.command()}
then open http://127.0.0.1:9090 and try  sum(rate(istio_requests_total[1m])) by (source_workload, destination_workload, response_code)
Logs of every process: ${mesh.logDir}
`);
  mesh.startApp(client, path.join(here, 'apps', 'client.js'), { HTTP_PROXY: `http://${client.ip}:15001`, INTERVAL_MS: process.env.INTERVAL_MS ?? '2000' }, true);
} catch (e) {
  console.error(`the local mesh did not start: ${e.message}`);
  await mesh.stop(1);
}
