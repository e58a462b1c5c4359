/**
 * TLS in Istio's networking API as minimesh reads it: a Gateway server's `tls`
 * (ServerTLSSettings), a VirtualService's `tls` routes (TLSRoute: SNI-routed passthrough), and
 * Kubernetes Secrets holding the certificates a server's `credentialName` names.
 */

/** `ServerTLSSettings.mode`. */
export type ServerTlsMode = 'PASSTHROUGH' | 'SIMPLE' | 'MUTUAL' | 'AUTO_PASSTHROUGH' | 'ISTIO_MUTUAL' | 'OPTIONAL_MUTUAL';
export const SERVER_TLS_MODES: readonly ServerTlsMode[] = ['PASSTHROUGH', 'SIMPLE', 'MUTUAL', 'AUTO_PASSTHROUGH', 'ISTIO_MUTUAL', 'OPTIONAL_MUTUAL'];
export type TlsProtocolVersion = 'TLS_AUTO' | 'TLSV1_0' | 'TLSV1_1' | 'TLSV1_2' | 'TLSV1_3';
export const TLS_PROTOCOL_VERSIONS: readonly TlsProtocolVersion[] = ['TLS_AUTO', 'TLSV1_0', 'TLSV1_1', 'TLSV1_2', 'TLSV1_3'];

export interface ServerTlsSettings {
  /** HTTP servers: answer every request with a 301 to https. */
  httpsRedirect?: boolean;
  mode?: ServerTlsMode;
  /** The Secret (in the gateway's namespace) holding the certificate, key and (MUTUAL) CA. */
  credentialName?: string;
  serverCertificate?: string;
  privateKey?: string;
  caCertificates?: string;
  subjectAltNames?: string[];
  minProtocolVersion?: TlsProtocolVersion;
  maxProtocolVersion?: TlsProtocolVersion;
  cipherSuites?: string[];
}

/** `TLSMatchAttributes` (the fields minimesh translates). */
export interface TlsMatchAttributes {
  sniHosts: string[];
  port?: number;
  gateways?: string[];
}

export interface RouteDestinationTls {
  destination: { host: string; subset?: string; port?: { number: number } };
  weight?: number;
}

/** A VirtualService `tls` route. */
export interface TlsRoute {
  match: TlsMatchAttributes[];
  route?: RouteDestinationTls[];
}

/** A core/v1 Secret: `data` base64, `stringData` plain (merged into data by the API server). */
export interface SecretFields {
  type?: string;
  data?: Record<string, string>;
  stringData?: Record<string, string>;
}
