import type { MeshH2UpgradePolicy } from './upstream-protocol.js';
import type { JwksUriOf } from './authz/build-jwt.js';

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
  /**
   * Sidecars under real capture (iptables from `minimesh iptables`), Istio's layout: instead of
   * per-port listeners (which would bind the app's ports in the pod), two virtual listeners:
   * `virtualOutbound` on 0.0.0.0:15001 (`use_original_dst`, OUTBOUND; HTTP routed by Host
   * across every service's virtual hosts, route configuration `virtualOutbound`; TCP ports in
   * the capture metadata; unknown destinations to `PassthroughCluster`, ORIGINAL_DST) and
   * `virtualInbound` on 0.0.0.0:15006 (`use_original_dst`, INBOUND; each connection to
   * `inbound|PORT||` at 127.0.0.1:PORT). Wins over `outboundForwardProxy`.
   */
  readonly captureMode?: boolean;
  /**
   * Mesh config `h2UpgradePolicy`: UPGRADE makes outbound clusters of explicit HTTP ports speak
   * HTTP/2 upstream unless a DestinationRule says otherwise (Istio's default DO_NOT_UPGRADE).
   */
  readonly meshH2UpgradePolicy?: MeshH2UpgradePolicy;
  /**
   * The sidecars terminate mTLS inbound: inbound listeners (or, under `captureMode`,
   * virtualInbound's per-port chains) get PeerAuthentication's TLS filter chains (and
   * tls_inspector), outbound clusters the DestinationRule's TLS or auto mTLS.
   */
  readonly mtls?: boolean;
  /**
   * The control plane's OpenID discovery (security/openid-discovery.ts): the `jwks_uri` of a
   * RequestAuthentication rule that names only its issuer. Without it such rules reject every token.
   */
  readonly jwksUriOf?: JwksUriOf;
}

export const DEFAULT_GENERATE_OPTIONS: Required<Omit<GenerateOptions, 'jwksUriOf'>> & Pick<GenerateOptions, 'jwksUriOf'> = {
  outboundAddress: '0.0.0.0',
  inboundAppAddress: '127.0.0.1',
  passthroughCluster: false,
  outboundForwardProxy: false,
  bindProxyAddress: false,
  captureMode: false,
  meshH2UpgradePolicy: 'DO_NOT_UPGRADE',
  mtls: false,
};
