#!/usr/bin/env node
// lab-09 as a local mesh on loopback: a control plane on this folder's k8s/ YAML (Gateway
// microservices-gateway, VirtualService microservices), the ingress gateway on 127.0.0.2:8080
// (Istio's Service port 80 -> pod port 8080), customer-service on 127.0.0.3 (stand-in on
// :8102 + sidecar) and order-service on 127.0.0.4 (stand-in on :8103 + sidecar).
// Ctrl-C stops every process started here.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LocalMesh } from '../local-mesh.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const gateway = { app: 'istio-ingressgateway', type: 'router', ip: '127.0.0.2', name: 'istio-ingressgateway-local-00001', namespace: 'istio-system', labels: { istio: 'ingressgateway', app: 'istio-ingressgateway' }, listenPorts: [8080] };
const customer = { app: 'customer', ip: '127.0.0.3', name: 'customer-deployment-local-00001', namespace: 'default', labels: { app: 'customer' }, appPorts: [8102], listenPorts: [8102] };
const order = { app: 'order', ip: '127.0.0.4', name: 'order-deployment-local-00001', namespace: 'default', labels: { app: 'order' }, appPorts: [8103], listenPorts: [8103] };

const mesh = new LocalMesh({ name: 'microservices', configDir: path.join(here, 'k8s') });
mesh.handleSignals();
await mesh.requireFreePorts([gateway, customer, order]);
try {
  await mesh.startControlPlane();
  const standIn = path.join(here, 'apps', 'stand-in.js');
  mesh.startApp(customer, standIn, { PORT: '8102', SERVICE_PATH: '/customers-service/v2/customers' });
  mesh.startApp(order, standIn, { PORT: '8103', SERVICE_PATH: '/orders-service/v2/orders' });
  await mesh.startSidecar(customer);
  await mesh.startSidecar(order);
  await mesh.startSidecar(gateway);
  for (const p of ['/customers-service/v2/customers', '/orders-service/v2/orders']) {
    const res = await fetch(`http://${gateway.ip}:8080${p}`);
    console.log(`GET http://${gateway.ip}:8080${p} -> ${res.status} ${await res.text()} server: ${res.headers.get('server')} x-envoy-upstream-service-time: ${res.headers.get('x-envoy-upstream-service-time')}`);
  }
  console.log(`
lab-09 is running: ingress gateway ${gateway.ip}:8080 -> customer-service (${customer.ip}) / order-service (${order.ip}).
Try:
  curl -i http://${gateway.ip}:8080/customers-service/v2/customers
  curl -i http://${gateway.ip}:8080/orders-service/v2/orders
  npx minimesh proxy-status
  npx minimesh proxy-config routes ${gateway.name}.${gateway.namespace}
  npx minimesh proxy-config clusters ${gateway.name}.${gateway.namespace}
  curl -s http://${gateway.ip}:15000/config_dump     # the gateway's admin API
Ctrl-C stops everything.
Prometheus: the pods' scrape configuration (kubernetes-pods job, file discovery) is ${mesh.prometheus.configFile}; run
  ${mesh.prometheus.command()}
then open http://127.0.0.1:9090 and try  sum(rate(istio_requests_total[1m])) by (source_workload, destination_workload, response_code)
Logs of every process: ${mesh.logDir}
`);
} catch (e) {
  console.error(`the local mesh did not start: ${e.message}`);
  await mesh.stop(1);
}
