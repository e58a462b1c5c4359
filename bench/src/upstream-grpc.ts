// The gRPC upstream: a grpc-js server with the bench's hand-written service (grpc-service.ts),
// answering every unary Echo call with a 20-byte message.
// Run as its own process: `node bench/dist/src/upstream-grpc.js [--port N]`; prints
// `{"port":N}` on stdout once listening; SIGTERM stops it.
import * as grpc from '@grpc/grpc-js';
import { BENCH_SERVICE, RESPONSE_MESSAGE } from './grpc-service.js';

function main(): void {
  const i = process.argv.indexOf('--port');
  const port = i >= 0 ? Number(process.argv[i + 1]) : 0;
  const server = new grpc.Server({ 'grpc.max_concurrent_streams': 1000 });
  server.addService(BENCH_SERVICE, {
    echo: (_call: grpc.ServerUnaryCall<Buffer, Buffer>, done: grpc.sendUnaryData<Buffer>) => done(null, RESPONSE_MESSAGE),
  });
  server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err, bound) => {
    if (err !== null) {
      process.stderr.write(`upstream-grpc: could not listen on 127.0.0.1:${port}: ${err.message}\n`);
      process.exit(1);
    }
    process.stdout.write(`${JSON.stringify({ port: bound })}\n`);
  });
  const shutdown = (): void => {
    server.forceShutdown();
    process.exit(0);
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}

main();
