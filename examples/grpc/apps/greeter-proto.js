// Loads greeter.proto for the example's server and client (grpc-js + proto-loader).
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

const here = path.dirname(fileURLToPath(import.meta.url));
const definition = protoLoader.loadSync(path.join(here, '..', 'greeter.proto'), { keepCase: true, longs: String, defaults: true });
export const proto = grpc.loadPackageDefinition(definition).minimesh.example;
export { grpc };
