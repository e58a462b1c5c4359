/**
 * Envoy's v3 protos, loaded once (lazily) into a protobufjs Root with `keepCase: true`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { PROTO_FILES, protoIncludeDirs } from './proto-files.js';

export const TYPE_URL_PREFIX = 'type.googleapis.com/';

/** Type URLs of the resources and extensions minimesh knows. */
export const TYPE_URL = {
  Bootstrap: 'type.googleapis.com/envoy.config.bootstrap.v3.Bootstrap',
  Listener: 'type.googleapis.com/envoy.config.listener.v3.Listener',
  RouteConfiguration: 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration',
  Cluster: 'type.googleapis.com/envoy.config.cluster.v3.Cluster',
  ClusterLoadAssignment: 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment',
  HttpConnectionManager:
    'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
  TcpProxy: 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy',
  Router: 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router',
  HttpRbac: 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC',
  NetworkRbac: 'type.googleapis.com/envoy.extensions.filters.network.rbac.v3.RBAC',
  JwtAuthentication: 'type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication',
  HttpFault: 'type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault',
  Cors: 'type.googleapis.com/envoy.extensions.filters.http.cors.v3.Cors',
  CorsPolicy: 'type.googleapis.com/envoy.extensions.filters.http.cors.v3.CorsPolicy',
  FileAccessLog: 'type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog',
  StdoutAccessLog: 'type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog',
  StderrAccessLog: 'type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StderrAccessLog',
  HttpProtocolOptions: 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
  DownstreamTlsContext: 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext',
  UpstreamTlsContext: 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
  TlsSecret: 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret',
  RawBuffer: 'type.googleapis.com/envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer',
  TlsInspector: 'type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector',
  HttpInspector: 'type.googleapis.com/envoy.extensions.filters.listener.http_inspector.v3.HttpInspector',
  /** A filter config whose message Envoy's protos lack (Istio's own filters), carried as a Struct. */
  TypedStruct: 'type.googleapis.com/udpa.type.v1.TypedStruct',
  PreviousHostsPredicate: 'type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate',
  PreviousPrioritiesConfig: 'type.googleapis.com/envoy.extensions.retry.priority.previous_priorities.v3.PreviousPrioritiesConfig',
  DiscoveryRequest: 'type.googleapis.com/envoy.service.discovery.v3.DiscoveryRequest',
  DiscoveryResponse: 'type.googleapis.com/envoy.service.discovery.v3.DiscoveryResponse',
} as const;

/**
 * How messages become plain objects everywhere in minimesh. Matches the options the
 * generated `__Output` types were made with (see scripts/gen-types.mjs): snake_case names,
 * 64-bit integers as strings, enums as names, a virtual field per set oneof, no defaults
 * (absent fields are undefined), bytes as Buffer, `Any` left packed (see `unpackAny`).
 */
export const TO_OBJECT_OPTIONS: protobuf.IConversionOptions = {
  longs: String,
  enums: String,
  oneofs: true,
};

let root: protobuf.Root | undefined;

/**
 * The same types as JSON, written at build time from the .proto files by
 * scripts/gen-descriptor.mjs: loading it takes half the time and a third of the memory of
 * parsing the .proto files, which matters to a sidecar's footprint (see bench/README.md).
 */
export const DESCRIPTOR_FILE = fileURLToPath(new URL('../../generated/envoy-descriptor.json', import.meta.url));

/** The Root holding every type minimesh uses (loaded on first call). */
export function protoRoot(): protobuf.Root {
  if (root) return root;
  if (fs.existsSync(DESCRIPTOR_FILE)) {
    const r = protobuf.Root.fromJSON(JSON.parse(fs.readFileSync(DESCRIPTOR_FILE, 'utf8')) as protobuf.INamespace);
    r.resolveAll();
    root = r;
    return r;
  }
  root = loadProtoFiles();
  return root;
}

/** Parses Envoy's .proto files from the npm dependency (~0.2 s). */
export function loadProtoFiles(): protobuf.Root {
  const dirs = protoIncludeDirs();
  const r = new protobuf.Root();
  r.resolvePath = (origin: string, target: string): string | null => {
    if (path.isAbsolute(target)) return target;
    for (const d of dirs) {
      const p = path.join(d, target);
      if (fs.existsSync(p)) return p;
    }
    return path.resolve(path.dirname(origin), target);
  };
  r.loadSync([...PROTO_FILES], { keepCase: true });
  r.resolveAll();
  return r;
}

/** Strips the `type.googleapis.com/` (or any `host/`) prefix of a type URL. */
export function typeNameOf(typeUrl: string): string {
  const i = typeUrl.lastIndexOf('/');
  return i >= 0 ? typeUrl.slice(i + 1) : typeUrl;
}

/** The message type a type URL names; throws if minimesh did not load it. */
export function lookupType(typeUrl: string): protobuf.Type {
  return protoRoot().lookupType(typeNameOf(typeUrl));
}

/** Like lookupType, but undefined when unknown. */
export function findType(typeUrl: string): protobuf.Type | undefined {
  try {
    return lookupType(typeUrl);
  } catch {
    return undefined;
  }
}
