// The bench's gRPC service, written by hand: one unary method whose messages are raw bytes
// (no protobuf: serialize and deserialize are the identity on Buffers).
import type { ServiceDefinition } from '@grpc/grpc-js';

/** the method's full path on the wire */
export const ECHO_PATH = '/minimesh.bench.Bench/Echo';

/** what the load sends: a small message */
export const REQUEST_MESSAGE = Buffer.from('ping from the load\n'); // 19 bytes
/** what the upstream answers: the same 20 bytes as the HTTP upstreams */
export const RESPONSE_MESSAGE = Buffer.from('hello from upstream\n');

const identity = (b: Buffer): Buffer => b;

export const BENCH_SERVICE: ServiceDefinition = {
  echo: {
    path: ECHO_PATH,
    requestStream: false,
    responseStream: false,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
    originalName: 'Echo',
  },
};
