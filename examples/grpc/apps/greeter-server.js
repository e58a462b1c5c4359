// The greeter app of one version (VERSION=v1|v2): a grpc-js server on 127.0.0.1:PORT, as it
// would listen inside its pod. Its sidecar's inbound listener (POD_IP:PORT) reaches it over
// HTTP/2, since the Service port is named `grpc`.
import { grpc, proto } from './greeter-proto.js';

const version = process.env.VERSION ?? 'v1';
const port = Number(process.env.PORT ?? 50051);
const greet = (name) => ({ message: `Hello, ${name}!`, version });
const later = (ms, fn) => (ms > 0 ? setTimeout(fn, ms) : fn());

const server = new grpc.Server();
server.addService(proto.Greeter.service, {
  SayHello(call, cb) {
    const { name, delay_ms } = call.request;
    if (!name) return cb({ code: grpc.status.INVALID_ARGUMENT, details: 'name must not be empty' });
    const trailer = new grpc.Metadata();
    trailer.set('x-greeter-version', version);
    later(delay_ms, () => cb(null, greet(name), trailer));
  },
  StreamHellos(call) {
    const n = Math.min(call.request.count || 3, 100);
    for (let i = 1; i <= n; i++) call.write({ message: `Hello #${i}, ${call.request.name}!`, version });
    call.end();
  },
  CollectNames(call, cb) {
    const names = [];
    call.on('data', (r) => names.push(r.name));
    call.on('end', () => cb(null, greet(names.join(', '))));
  },
  Chat(call) {
    call.on('data', (r) => call.write(greet(r.name)));
    call.on('end', () => call.end());
  },
});
server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err) => {
  if (err) {
    console.error(`greeter ${version}: cannot listen on 127.0.0.1:${port}: ${err.message}`);
    process.exit(1);
  }
  console.log(`greeter ${version} listening on 127.0.0.1:${port}`);
});
process.on('SIGTERM', () => server.tryShutdown(() => process.exit(0)));
