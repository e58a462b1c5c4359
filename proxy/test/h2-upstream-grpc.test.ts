/**
 * gRPC through the proxy to an HTTP/2 cluster: a @grpc/grpc-js client (h2c prior knowledge to
 * an AUTO listener) and a grpc-js server; status codes, messages, metadata and trailing
 * metadata intact, and a retry on `unavailable` read from the response's grpc-status.
 */
import t from 'tap';
import * as grpc from '@grpc/grpc-js';
import { route, startTestProxy, type TestLike } from './helpers/harness.js';
import { h2ClusterExtra } from './helpers/h2-upstream-server.js';

const passThrough = (b: Buffer): Buffer => b;
const method = { requestStream: false, responseStream: false, requestSerialize: passThrough, requestDeserialize: passThrough, responseSerialize: passThrough, responseDeserialize: passThrough };
const service: grpc.ServiceDefinition = { echo: { ...method, path: '/test.Echo/Echo' }, fail: { ...method, path: '/test.Echo/Fail' } };
type Handler = (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => void;

/** A grpc-js server of the Echo service on 127.0.0.1:0; its port. */
async function startGrpcServer(t: TestLike, handlers: { echo: Handler; fail: Handler }): Promise<number> {
  const server = new grpc.Server();
  server.addService(service, handlers);
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  t.teardown(() => server.forceShutdown());
  return port;
}

interface CallResult {
  err: grpc.ServiceError | null;
  res: Buffer | undefined;
  trailers: grpc.Metadata | undefined;
}

/** A client of the Echo service through the proxy on `port`. */
function echoClient(t: TestLike, port: number): (name: 'echo' | 'fail', req: Buffer) => Promise<CallResult> {
  const Client = grpc.makeGenericClientConstructor(service, 'Echo');
  const client = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  t.teardown(() => client.close());
  type Unary = (req: Buffer, md: grpc.Metadata, cb: (e: grpc.ServiceError | null, r?: Buffer) => void) => grpc.ClientUnaryCall;
  return (name, req) =>
    new Promise<CallResult>((resolve) => {
      const md = new grpc.Metadata();
      md.set('x-md', 'from-client');
      let trailers: grpc.Metadata | undefined;
      const c = (client as unknown as Record<string, Unary>)[name](req, md, (err, res) => setImmediate(() => resolve({ err, res, trailers })));
      c.on('status', (s: grpc.StatusObject) => (trailers = s.metadata));
    });
}

t.test('unary calls: response, status codes, metadata and trailers intact', async (t) => {
  const seen: grpc.Metadata[] = [];
  const port = await startGrpcServer(t, {
    echo: (call, cb) => {
      seen.push(call.metadata);
      const trailer = new grpc.Metadata();
      trailer.set('x-trailer', 'kept');
      cb(null, Buffer.concat([Buffer.from('echo:'), call.request]), trailer);
    },
    fail: (_call, cb) => cb({ code: grpc.status.NOT_FOUND, details: 'no such thing' }),
  });
  const p = await startTestProxy(t, { routes: [route('/', 'c')], clusters: { c: { endpoints: [port], extra: h2ClusterExtra('http2') } }, hcm: { codec_type: 'AUTO' } });
  const call = echoClient(t, p.port);
  const ok = await call('echo', Buffer.from('hi'));
  t.equal(ok.err, null);
  t.equal(ok.res?.toString(), 'echo:hi');
  t.same(ok.trailers?.get('x-trailer'), ['kept'], 'trailing metadata intact');
  t.same(seen[0].get('x-md'), ['from-client'], 'request metadata reached the server');
  const bad = await call('fail', Buffer.from('x'));
  t.equal(bad.err?.code, grpc.status.NOT_FOUND, 'status code intact');
  t.equal(bad.err?.details, 'no such thing');
  const lines = await p.accessLog(2);
  t.same(
    lines.map((l) => [l.protocol, l.response_code]),
    [
      ['HTTP/2', 200],
      ['HTTP/2', 200],
    ],
  );
});

t.test('retry_on unavailable: a call answered UNAVAILABLE is tried again', async (t) => {
  let calls = 0;
  const port = await startGrpcServer(t, {
    echo: (call, cb) => {
      calls++;
      if (calls === 1) cb({ code: grpc.status.UNAVAILABLE, details: 'not yet' });
      else cb(null, Buffer.concat([Buffer.from('second:'), call.request]));
    },
    fail: (_call, cb) => cb({ code: grpc.status.UNAVAILABLE, details: 'never' }),
  });
  const p = await startTestProxy(t, {
    routes: [route('/', 'c', { retry_policy: { retry_on: 'unavailable', num_retries: 2 } })],
    clusters: { c: { endpoints: [port], extra: h2ClusterExtra('http2') } },
    hcm: { codec_type: 'AUTO' },
  });
  const call = echoClient(t, p.port);
  const ok = await call('echo', Buffer.from('x'));
  t.equal(ok.err, null, 'the retry succeeded');
  t.equal(ok.res?.toString(), 'second:x');
  t.equal(calls, 2);
  const bad = await call('fail', Buffer.from('x'));
  t.equal(bad.err?.code, grpc.status.UNAVAILABLE, 'out of retries: the last status reaches the client');
  t.equal(bad.err?.details, 'never');
});
