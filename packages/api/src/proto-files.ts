/**
 * Where Envoy's protos live on disk and which files minimesh loads. Shared by the runtime
 * loader (`protos.ts`) and the type generator (`scripts/gen-types.mjs` reads the same list
 * from the built file), so the two never disagree.
 */
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);

/** Include directories: Envoy's API and its deps as shipped by @grpc/grpc-js-xds, plus protobufjs's google/protobuf. */
export function protoIncludeDirs(): string[] {
  const xds = path.join(path.dirname(require.resolve('@grpc/grpc-js-xds/package.json')), 'deps');
  const pbjs = path.dirname(require.resolve('protobufjs/package.json'));
  return [
    path.join(xds, 'envoy-api'),
    path.join(xds, 'xds'),
    path.join(xds, 'googleapis'),
    path.join(xds, 'protoc-gen-validate'),
    pbjs,
  ];
}

/** The proto files minimesh needs (their imports come along). */
export const PROTO_FILES: readonly string[] = [
  'envoy/config/bootstrap/v3/bootstrap.proto',
  'envoy/config/listener/v3/listener.proto',
  'envoy/config/route/v3/route.proto',
  'envoy/config/cluster/v3/cluster.proto',
  'envoy/config/endpoint/v3/endpoint.proto',
  'envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto',
  'envoy/extensions/filters/http/router/v3/router.proto',
  'envoy/extensions/access_loggers/file/v3/file.proto',
  'envoy/extensions/access_loggers/stream/v3/stream.proto',
  'envoy/extensions/upstreams/http/v3/http_protocol_options.proto',
  'envoy/service/discovery/v3/discovery.proto',
  'envoy/extensions/retry/host/previous_hosts/v3/previous_hosts.proto',
];
