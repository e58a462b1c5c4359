/**
 * Where a sidecar's config comes from. Today: a static Envoy bootstrap per pod, written to a
 * file. When the control plane lands, an xDS source gives `--xds HOST:PORT` instead; the tests
 * and the demo only call `sidecarArgs`.
 */
import type { NetnsPod, NetnsTopology } from './netns-pods.js';

export interface SidecarConfigSource {
  /** Arguments after `minimesh proxy` for this pod's sidecar. */
  sidecarArgs(topology: NetnsTopology, pod: NetnsPod): string[];
}

/** Istio's outbound/inbound capture listeners, and the echo service on port 80. */
export function clientBootstrap(t: NetnsTopology): string {
  const echo = t.echo.ip;
  return `node: { id: sidecar~${t.client.ip}~client.default~default.svc.cluster.local, cluster: client }
admin:
  address: { socket_address: { address: 127.0.0.1, port_value: 15000 } }
static_resources:
  listeners:
  - name: virtualOutbound
    address: { socket_address: { address: 0.0.0.0, port_value: 15001 } }
    use_original_dst: true
    traffic_direction: OUTBOUND
    metadata:
      filter_metadata:
        minimesh.capture: { tcp_ports: [3306] }
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: outbound_0.0.0.0_15001
          http_filters:
          - name: envoy.filters.http.router
            typed_config: { "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router }
          route_config:
            name: "80"
            virtual_hosts:
            - name: echo.default.svc.cluster.local:80
              domains: [echo, "echo:80", echo.default.svc.cluster.local, "echo.default.svc.cluster.local:80", "${echo}", "${echo}:80"]
              routes:
              - match: { prefix: / }
                route: { cluster: "outbound|80||echo.default.svc.cluster.local", timeout: 0s }
  clusters:
  - name: "outbound|80||echo.default.svc.cluster.local"
    type: STATIC
    connect_timeout: 10s
    load_assignment:
      cluster_name: "outbound|80||echo.default.svc.cluster.local"
      endpoints:
      - lb_endpoints:
        - endpoint: { address: { socket_address: { address: ${echo}, port_value: 80 } } }
  - name: PassthroughCluster
    type: ORIGINAL_DST
    lb_policy: CLUSTER_PROVIDED
    connect_timeout: 10s
`;
}

export function echoBootstrap(t: NetnsTopology): string {
  return `node: { id: sidecar~${t.echo.ip}~echo.default~default.svc.cluster.local, cluster: echo }
admin:
  address: { socket_address: { address: 127.0.0.1, port_value: 15000 } }
static_resources:
  listeners:
  - name: virtualInbound
    address: { socket_address: { address: 0.0.0.0, port_value: 15006 } }
    use_original_dst: true
    traffic_direction: INBOUND
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: inbound_0.0.0.0_15006
          http_filters:
          - name: envoy.filters.http.router
            typed_config: { "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router }
          route_config:
            name: inbound|80||
            virtual_hosts:
            - name: inbound|http|80
              domains: ["*"]
              routes:
              - match: { prefix: / }
                route: { cluster: "inbound|80||" }
  clusters:
  - name: "inbound|80||"
    type: STATIC
    connect_timeout: 10s
    load_assignment:
      cluster_name: "inbound|80||"
      endpoints:
      - lb_endpoints:
        - endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: 80 } } }
`;
}

export const staticBootstrapSource: SidecarConfigSource = {
  sidecarArgs(t, pod) {
    const file = t.writeFile(`${pod.name}-bootstrap.yaml`, pod === t.client ? clientBootstrap(t) : echoBootstrap(t));
    return ['--bootstrap', file, '--health-port', '15021'];
  },
};
