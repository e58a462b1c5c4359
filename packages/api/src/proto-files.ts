/**
 * Where Envoy's protos live on disk and which files minimesh loads. Shared by the runtime
 * loader (`protos.ts`) and the type generator (`scripts/gen-types.mjs`): both read
 * proto-files.json, so the two never disagree.
 */
import fs from 'node:fs';
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

/** The proto files minimesh needs (their imports come along), listed in proto-files.json (also read by the build scripts). */
export const PROTO_FILES: readonly string[] = JSON.parse(fs.readFileSync(new URL('../../proto-files.json', import.meta.url), 'utf8')) as string[];
