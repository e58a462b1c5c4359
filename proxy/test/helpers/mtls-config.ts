/**
 * For the mTLS tests: bootstraps shaped as a mesh control plane gives sidecars (JSON form):
 * an inbound listener with PERMISSIVE or STRICT filter chains, and an outbound cluster with
 * an UpstreamTlsContext (SNI, mesh ALPN, SDS `default` / `ROOTCA`, URI SAN matcher).
 * Not a test file.
 */
const HCM = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const ROUTER = 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router';
const TCP_PROXY = 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy';
const DOWNSTREAM_TLS = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext';
const UPSTREAM_TLS = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext';
const FILE_LOG = 'type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog';
const H2_OPTIONS = 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions';

export const ALPN_HTTP11 = ['istio-http/1.1', 'istio', 'http/1.1'];
export const ALPN_H2 = ['istio-h2', 'istio', 'h2'];

const SDS = { sds_config: { ads: {}, resource_api_version: 'V3' } };

/** The access log: JSON lines with the peer's URI SAN, the code and the protocol. */
export function accessLog(path: string): unknown[] {
  return [{ name: 'envoy.access_loggers.file', typed_config: { '@type': FILE_LOG, path, log_format: { json_format: { peer: '%DOWNSTREAM_PEER_URI_SAN%', code: '%RESPONSE_CODE%', protocol: '%PROTOCOL%', path: '%REQ(:PATH)%', flags: '%RESPONSE_FLAGS%', details: '%RESPONSE_CODE_DETAILS%' } } } }];
}

export function hcmFilter(statPrefix: string, routes: unknown[], logPath: string | undefined): unknown {
  return {
    name: 'envoy.filters.network.http_connection_manager',
    typed_config: {
      '@type': HCM,
      stat_prefix: statPrefix,
      codec_type: 'AUTO',
      route_config: { name: statPrefix, virtual_hosts: [{ name: 'all', domains: ['*'], routes }] },
      http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': ROUTER } }],
      ...(logPath !== undefined ? { access_log: accessLog(logPath) } : {}),
    },
  };
}

export function tcpProxyFilter(cluster: string): unknown {
  return { name: 'envoy.filters.network.tcp_proxy', typed_config: { '@type': TCP_PROXY, stat_prefix: cluster, cluster } };
}

/** The inbound side's DownstreamTlsContext: client certificate required, chain checked against ROOTCA only. */
export function inboundTls(alpn: string[] = ['h2', 'http/1.1']): unknown {
  return {
    name: 'envoy.transport_sockets.tls',
    typed_config: {
      '@type': DOWNSTREAM_TLS,
      require_client_certificate: true,
      common_tls_context: {
        alpn_protocols: alpn,
        tls_params: { tls_minimum_protocol_version: 'TLSv1_2', tls_maximum_protocol_version: 'TLSv1_3' },
        tls_certificate_sds_secret_configs: [{ name: 'default', ...SDS }],
        combined_validation_context: { default_validation_context: {}, validation_context_sds_secret_config: { name: 'ROOTCA', ...SDS } },
      },
    },
  };
}

/** An inbound listener on 127.0.0.1:0: PERMISSIVE (mTLS and plaintext) or STRICT (mTLS only), HTTP to `httpRoutes`, TCP to `tcpCluster`. */
export function inboundListener(mode: 'PERMISSIVE' | 'STRICT', httpRoutes: unknown[], tcpCluster: string, logPath: string): unknown {
  const http = (): unknown => hcmFilter('inbound_0.0.0.0_8080', httpRoutes, logPath);
  const chains: unknown[] = [
    { name: 'mtls-http', filter_chain_match: { transport_protocol: 'tls', application_protocols: ['istio-http/1.0', 'istio-http/1.1', 'istio-h2'] }, transport_socket: inboundTls(), filters: [http()] },
  ];
  if (mode === 'PERMISSIVE') {
    chains.push({ name: 'plain-http', filter_chain_match: { transport_protocol: 'raw_buffer', application_protocols: ['http/1.1', 'h2c'] }, filters: [http()] });
    chains.push({ name: 'mtls-tcp', filter_chain_match: { transport_protocol: 'tls', application_protocols: ['istio-peer-exchange', 'istio'] }, transport_socket: inboundTls(['istio-peer-exchange', 'h2', 'http/1.1']), filters: [tcpProxyFilter(tcpCluster)] });
    chains.push({ name: 'plain-tcp', filter_chain_match: { transport_protocol: 'raw_buffer' }, filters: [tcpProxyFilter(tcpCluster)] });
    chains.push({ name: 'passthrough-tls', filter_chain_match: { transport_protocol: 'tls' }, filters: [tcpProxyFilter(tcpCluster)] });
  } else {
    chains.push({ name: 'mtls-tcp', filter_chain_match: { transport_protocol: 'tls' }, transport_socket: inboundTls(['istio-peer-exchange', 'h2', 'http/1.1']), filters: [tcpProxyFilter(tcpCluster)] });
  }
  return {
    name: 'virtualInbound',
    address: { socket_address: { address: '127.0.0.1', port_value: 0 } },
    traffic_direction: 'INBOUND',
    listener_filters: [{ name: 'envoy.filters.listener.tls_inspector' }, { name: 'envoy.filters.listener.http_inspector' }],
    filter_chains: chains,
  };
}

/** A plain HTTP listener on 127.0.0.1:0 (the client side of two proxies in series). */
export function outboundListener(routes: unknown[], logPath: string | undefined): unknown {
  return { name: 'outbound', address: { socket_address: { address: '127.0.0.1', port_value: 0 } }, filter_chains: [{ filters: [hcmFilter('outbound_0.0.0.0_80', routes, logPath)] }] };
}

export interface MeshClusterOpts {
  readonly sni: string;
  readonly alpn: string[];
  /** URI SANs accepted (match_typed_subject_alt_names, exact). */
  readonly sans: string[];
  readonly h2?: boolean;
  /** Istio's auto mTLS shape: transport_socket_matches on `tlsMode: istio`, endpoints labelled by `tlsModeIstio`. */
  readonly autoMtls?: boolean;
}

export function upstreamTls(o: MeshClusterOpts): unknown {
  return {
    name: 'envoy.transport_sockets.tls',
    typed_config: {
      '@type': UPSTREAM_TLS,
      sni: o.sni,
      common_tls_context: {
        alpn_protocols: o.alpn,
        tls_certificate_sds_secret_configs: [{ name: 'default', ...SDS }],
        combined_validation_context: {
          default_validation_context: { match_typed_subject_alt_names: o.sans.map((s) => ({ san_type: 'URI', matcher: { exact: s } })) },
          validation_context_sds_secret_config: { name: 'ROOTCA', ...SDS },
        },
      },
    },
  };
}

/** A cluster to `ports` on 127.0.0.1; with `tls`, mTLS to them. */
export function cluster(name: string, ports: number[], tls?: MeshClusterOpts, h2 = false, tlsModeIstio = true): unknown {
  const ts = tls === undefined ? {} : tls.autoMtls ? { transport_socket_matches: [{ name: 'tlsMode-istio', match: { tlsMode: 'istio' }, transport_socket: upstreamTls(tls) }, { name: 'tlsMode-disabled', match: {}, transport_socket: { name: 'envoy.transport_sockets.raw_buffer' } }] } : { transport_socket: upstreamTls(tls) };
  const md = tls?.autoMtls && tlsModeIstio ? { metadata: { filter_metadata: { 'envoy.transport_socket_match': { tlsMode: 'istio' } } } } : {};
  return {
    name,
    type: 'STATIC',
    connect_timeout: '1s',
    load_assignment: { cluster_name: name, endpoints: [{ lb_endpoints: ports.map((p) => ({ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: p } } }, ...md })) }] },
    ...(h2 ? { typed_extension_protocol_options: { 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': { '@type': H2_OPTIONS, explicit_http_config: { http2_protocol_options: {} } } } } : {}),
    ...ts,
  };
}

export function bootstrap(listeners: unknown[], clusters: unknown[]): unknown {
  return { node: { id: 'sidecar~127.0.0.1~test.default~default.svc.cluster.local', cluster: 'test.default' }, static_resources: { listeners, clusters } };
}

export function routeTo(prefix: string, clusterName: string): unknown {
  return { match: { prefix }, route: { cluster: clusterName, timeout: '5s' } };
}
