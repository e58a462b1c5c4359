#!/usr/bin/env node
// Generates TypeScript types for Envoy's protos into src/generated/ with proto-loader-gen-types.
//
// Options, and why (they must match how protos.ts turns messages into plain objects,
// i.e. `Type.toObject(msg, TO_OBJECT_OPTIONS)`):
//   --keepCase          field names as in the .proto (snake_case), as Envoy's YAML writes them
//   --longs String      64-bit integers come out as decimal strings (toObject longs: String)
//   --enums String      enum values come out as their names (toObject enums: String)
//   --oneofs            a virtual field names the member of each oneof that is set
//   (no --defaults)     absent fields stay undefined, so "was it set?" is answerable
//   bytes: Buffer       (the default; toObject gives Buffers in Node)
//   --importFileExtension .js   ESM/NodeNext needs explicit extensions
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const pkg = path.resolve(here, '..');
const out = path.join(pkg, 'src', 'generated');
const require = createRequire(import.meta.url);
const xds = path.join(path.dirname(require.resolve('@grpc/grpc-js-xds/package.json')), 'deps');
const pbjs = path.dirname(require.resolve('protobufjs/package.json'));
const cli = path.join(path.dirname(require.resolve('@grpc/proto-loader/package.json')), 'build', 'bin', 'proto-loader-gen-types.js');
// The same list as PROTO_FILES in src/proto-files.ts.
export const FILES = JSON.parse(readFileSync(path.join(pkg, 'proto-files.json'), 'utf8'));
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  rmSync(out, { recursive: true, force: true });
  const inc = ['envoy-api', 'xds', 'googleapis', 'protoc-gen-validate'].flatMap((d) => ['-I', path.join(xds, d)]);
  const r = spawnSync(process.execPath, [cli, '--keepCase', '--longs', 'String', '--enums', 'String', '--oneofs',
    '--importFileExtension', '.js', ...inc, '-I', pbjs, '-O', out, ...FILES], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}
