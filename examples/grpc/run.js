#!/usr/bin/env node
// `npm run start:grpc`: a gRPC service in the local mesh. A control plane on this folder's k8s/
// YAML; greeter v1 on 127.0.0.2 (grpc-js on 127.0.0.1:50051 + sidecar), greeter v2 on
// 127.0.0.3 (127.0.0.1:50052 + sidecar), the client on 127.0.0.4 (a grpc-js client with
// http_proxy at its sidecar). The VirtualService splits the calls 80/20 between v1 and v2.
// Ctrl-C stops every process started here.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LocalMesh } from '../local-mesh.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const v1 = { app: 'greeter-v1', ip: '127.0.0.2', name: 'greeter-v1-local-00001', namespace: 'grpc', labels: { app: 'greeter', version: 'v1' }, appPorts: [50051], listenPorts: [50051] };
const v2 = { app: 'greeter-v2', ip: '127.0.0.3', name: 'greeter-v2-local-00001', namespace: 'grpc', labels: { app: 'greeter', version: 'v2' }, appPorts: [50052], listenPorts: [50052] };
const client = { app: 'greeter-client', ip: '127.0.0.4', name: 'greeter-client-local-00001', namespace: 'grpc', labels: { app: 'greeter-client' } };

const mesh = new LocalMesh({ name: 'grpc', configDir: path.join(here, 'k8s') });
mesh.handleSignals();
await mesh.requireFreePorts([v1, v2, client]);
try {
  await mesh.startControlPlane();
  mesh.startApp(v1, path.join(here, 'apps', 'greeter-server.js'), { VERSION: 'v1', PORT: '50051' });
  mesh.startApp(v2, path.join(here, 'apps', 'greeter-server.js'), { VERSION: 'v2', PORT: '50052' });
  await mesh.startSidecar(v1);
  await mesh.startSidecar(v2);
  await mesh.startSidecar(client);
  console.log(`
The gRPC example is running: client ${client.ip} -> its sidecar :15001 (CONNECT, then HTTP/2) -> greeter v1 ${v1.ip}:50051 (80%) or v2 ${v2.ip}:50052 (20%) -> the grpc-js servers.
Try:
  npx minimesh proxy-config routes ${client.name}.${client.namespace}
  npx minimesh proxy-config clusters ${client.name}.${client.namespace}
  curl -s http://${client.ip}:15000/stats | grep grpc
  curl -s http://${client.ip}:15020/stats/prometheus | grep 'istio_requests_total.*grpc'
  npx minimesh dashboard          # the graph: greeter-client -> greeter (grpc) -> greeter-v1 / greeter-v2
Edit examples/grpc/k8s/traffic.yaml (the weights) and the split follows. Ctrl-C stops everything.
Logs of every process: ${mesh.logDir}
`);
  mesh.startApp(client, path.join(here, 'apps', 'greeter-client.js'), { http_proxy: `http://${client.ip}:15001`, INTERVAL_MS: process.env.INTERVAL_MS ?? '1000' }, true);
} catch (e) {
  console.error(`the local mesh did not start: ${e.message}`);
  await mesh.stop(1);
}
