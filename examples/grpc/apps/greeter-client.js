// The client pod's app: a grpc-js client of greeter.grpc.svc.cluster.local:50051. Like any
// gRPC app it honours `http_proxy`: pointed at its sidecar (POD_IP:15001), it asks for
// `CONNECT greeter.grpc.svc.cluster.local:50051` and speaks HTTP/2 inside the tunnel; the
// sidecar routes each call (the VirtualService's 80/20 split), retries and measures it.
// First a tour of every call kind, a status code and a deadline; then a unary call every
// INTERVAL_MS, with the versions that answered so far.
import { grpc, proto } from './greeter-proto.js';

const target = process.env.TARGET ?? 'greeter.grpc.svc.cluster.local:50051';
const intervalMs = Number(process.env.INTERVAL_MS ?? 1000);
const client = new proto.Greeter(target, grpc.credentials.createInsecure());
const deadline = (ms) => new Date(Date.now() + ms);
const status = (e) => `${grpc.status[e.code]} (${e.code}) ${JSON.stringify(e.details)}`;

function unary(req, ms = 5000) {
  return new Promise((resolve) => {
    let trailers;
    const call = client.SayHello(req, { deadline: deadline(ms) }, (err, res) => setImmediate(() => resolve({ err, res, trailers })));
    call.on('status', (s) => (trailers = s.metadata));
  });
}

function collect(stream) {
  return new Promise((resolve, reject) => {
    const out = [];
    stream.on('data', (r) => out.push(r));
    stream.on('end', () => resolve(out));
    stream.on('error', reject);
  });
}

async function tour() {
  const u = await unary({ name: 'mesh' });
  if (u.err) console.log(`SayHello (unary) -> ${status(u.err)}`);
  else console.log(`SayHello (unary) -> OK ${JSON.stringify(u.res.message)} from ${u.res.version}, trailer x-greeter-version: ${u.trailers?.get('x-greeter-version')[0]}`);
  const s = await collect(client.StreamHellos({ name: 'mesh', count: 3 }, { deadline: deadline(5000) }));
  console.log(`StreamHellos (server streaming) -> OK ${s.length} replies: ${s.map((r) => JSON.stringify(r.message)).join(' ')}`);
  const c = await new Promise((resolve) => {
    const call = client.CollectNames({ deadline: deadline(5000) }, (err, res) => resolve({ err, res }));
    for (const n of ['ada', 'grace', 'linus']) call.write({ name: n });
    call.end();
  });
  console.log(c.err ? `CollectNames (client streaming) -> ${status(c.err)}` : `CollectNames (client streaming) -> OK ${JSON.stringify(c.res.message)}`);
  const chat = client.Chat({ deadline: deadline(5000) });
  const replies = collect(chat);
  for (const n of ['one', 'two', 'three']) chat.write({ name: n });
  chat.end();
  const b = await replies;
  console.log(`Chat (bidirectional streaming) -> OK ${b.length} replies: ${b.map((r) => JSON.stringify(r.message)).join(' ')}`);
  const bad = await unary({ name: '' });
  console.log(`SayHello with an empty name -> ${bad.err ? status(bad.err) : 'OK (unexpected)'}`);
  const slow = await unary({ name: 'slow', delay_ms: 2000 }, 300);
  console.log(`SayHello with a 300 ms deadline on a 2 s answer -> ${slow.err ? status(slow.err) : 'OK (unexpected)'}`);
}

const seen = { v1: 0, v2: 0 };
async function loop() {
  const u = await unary({ name: 'mesh' });
  const time = new Date().toISOString().slice(11, 19);
  if (u.err) console.log(`${time} SayHello -> ${status(u.err)}`);
  else {
    seen[u.res.version] = (seen[u.res.version] ?? 0) + 1;
    console.log(`${time} SayHello -> OK ${JSON.stringify(u.res.message)} from ${u.res.version} (so far v1: ${seen.v1}, v2: ${seen.v2})`);
  }
}

try {
  await tour();
} catch (e) {
  console.log(`the tour failed: ${e.message}`);
}
setInterval(() => void loop(), intervalMs);
process.on('SIGTERM', () => process.exit(0));
