/**
 * The Sidecar's egress listeners with a `port` and a `bind` address or `captureMode: NONE`
 * (Istio's explicit egress listeners: the app calls the sidecar at bind:port itself) in the
 * local mesh, where nothing is captured: a listener bound to `bind` (default: the proxy's own
 * address, the pod's "localhost" in the local mesh, where Istio takes 127.0.0.1) on the port:
 *   HTTP port  an HCM on the port's route configuration (`PORT`: the services' virtual hosts,
 *              routed by Host as any outbound request);
 *   TCP port   a tcp_proxy to the only service of that port in the listener's scope (or its
 *              VirtualService `tcp` route's clusters); several services: warned, left out
 *              (Istio would tell them apart by destination address, which a bound listener lacks).
 * Under capture, iptables capture the whole pod: `bind` and `captureMode` are warned instead.
 */
import { isHttpProtocol, parseProtocol } from '@minimesh/kube';
import type { MeshModel } from '../model/mesh-model.js';
import type { ProxyIdentity } from '../model/proxy-identity.js';
import { egressAllowsService, sidecarFor } from '../model/sidecar-scope.js';
import { buildOutboundListener } from './build-listeners.js';
import type { ListenerTelemetry } from './build-telemetry.js';
import { TCP_PROXY_FILTER, TYPE, type JsonObject } from './envoy-json.js';
import { listenerName, sidecarRouteName } from './naming.js';
import { tcpTarget } from './translate-tcp-route.js';

export interface EgressBindResult {
  readonly listeners: JsonObject[];
  /** Per-port route configurations the HTTP listeners name (RDS). */
  readonly routes: JsonObject[];
}

/** `perPort`: the sidecar's per-port route configurations (build-routes.ts). */
export function buildEgressBindListeners(model: MeshModel, proxy: ProxyIdentity, perPort: readonly JsonObject[], tel: ListenerTelemetry, capture: boolean, warnings: string[]): EgressBindResult {
  const sc = sidecarFor(model, proxy);
  const out: EgressBindResult = { listeners: [], routes: [] };
  if (sc === undefined) return out;
  const ref = `Sidecar ${sc.metadata.namespace ?? 'default'}/${sc.metadata.name}`;
  (sc.spec?.egress ?? []).forEach((e, i) => {
    const where = `${ref} egress[${i}]`;
    if (e.bind === undefined && e.captureMode !== 'NONE') return;
    const port = e.port?.number;
    if (capture) {
      warnings.push(`${where}: ${e.bind !== undefined ? `bind ${e.bind}` : 'captureMode NONE'} does not apply under capture (iptables capture every port of the pod); the listener is not opened`);
      return;
    }
    if (port === undefined) {
      warnings.push(`${where}: bind and captureMode NONE need port (a listener on one port); left out`);
      return;
    }
    const address = e.bind ?? proxy.ip;
    if (address.startsWith('unix://')) {
      warnings.push(`${where}: bind ${address}: unix domain sockets are not supported by minimesh; left out`);
      return;
    }
    if (out.listeners.some((l) => l.name === listenerName(address, port))) return;
    const hosts = (e.hosts ?? []).map((h) => {
      const j = h.indexOf('/');
      const ns = j < 0 ? '*' : h.slice(0, j);
      return { ns: ns === '.' ? proxy.namespace : ns, dns: (j < 0 ? h : h.slice(j + 1)).toLowerCase() };
    }).filter((h) => h.ns !== '~');
    const services = model.services.filter((svc) => svc.ports.some((p) => p.port === port) && egressAllowsService(hosts, svc.namespace, svc.hostname));
    const declared = e.port?.protocol;
    const http = declared !== undefined ? isHttpProtocol(parseProtocol(declared)) : services.some((svc) => svc.ports.some((p) => p.port === port && (isHttpProtocol(p.protocol) || p.protocol === 'Unsupported')));
    if (http) {
      const rc = perPort.find((r) => r.name === sidecarRouteName(port));
      if (rc === undefined) {
        warnings.push(`${where}: no HTTP service on port ${port} in its hosts; the listener on ${address}:${port} is left out`);
        return;
      }
      if (!out.routes.includes(rc)) out.routes.push(rc);
      out.listeners.push(buildOutboundListener(address, port, rc, tel));
      return;
    }
    if (services.length !== 1) {
      warnings.push(`${where}: a TCP listener on ${address}:${port} needs exactly one service of that port in its hosts (found ${services.length}); left out`);
      return;
    }
    const t = tcpTarget(model, proxy, services[0]!, port, warnings);
    const target = 'cluster' in t ? { stat_prefix: t.cluster, cluster: t.cluster } : { stat_prefix: t.weighted[0]!.name, weighted_clusters: { clusters: t.weighted.map((w) => ({ name: w.name, weight: w.weight })) } };
    out.listeners.push({
      name: listenerName(address, port),
      address: { socket_address: { address, port_value: port } },
      traffic_direction: 'OUTBOUND',
      filter_chains: [{ filters: [{ name: TCP_PROXY_FILTER, typed_config: { '@type': TYPE.TcpProxy, ...target } }] }],
    });
  });
  return out;
}
