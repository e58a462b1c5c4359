/** Knobs of translation that depend on what the receiving proxy can run. */
export interface GenerateOptions {
  /**
   * Address outbound per-port listeners bind to. Istio uses 0.0.0.0; a local mesh where
   * every sidecar shares the host's ports gives each its own loopback address.
   */
  readonly outboundAddress?: string;
  /** Address of the app behind `inbound|PORT||` (Istio: 127.0.0.1). */
  readonly inboundAppAddress?: string;
  /** Emit Istio's ORIGINAL_DST PassthroughCluster and the `allow_any` virtual host (needs proxy support). */
  readonly passthroughCluster?: boolean;
  /**
   * Sidecars get, instead of one outbound listener per service port, a single HTTP listener on
   * POD_IP:15001 whose route configuration (`virtualOutbound`) holds every service's virtual
   * hosts, all ports: a plain forward proxy for apps that send absolute-form requests
   * (`curl -x POD_IP:15001 http://echo-service.client.svc.cluster.local/`). This is how the
   * local mesh runs without iptables.
   */
  readonly outboundForwardProxy?: boolean;
  /** Gateway listeners bind the proxy's own IP instead of 0.0.0.0 (a local mesh on loopback). */
  readonly bindProxyAddress?: boolean;
}

export const DEFAULT_GENERATE_OPTIONS: Required<GenerateOptions> = {
  outboundAddress: '0.0.0.0',
  inboundAppAddress: '127.0.0.1',
  passthroughCluster: false,
  outboundForwardProxy: false,
  bindProxyAddress: false,
};
