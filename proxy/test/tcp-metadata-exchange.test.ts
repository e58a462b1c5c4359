/** Istio's TCP metadata exchange preamble: what one side writes, what the other reads. */
import t from 'tap';
import { EXCHANGE_MAGIC, encodeTcpExchange, MAX_EXCHANGE_BYTES, TcpExchangeReader } from '../src/observability/istio/tcp-metadata-exchange.js';
import { UNKNOWN_PEER, type WorkloadPeer } from '../src/observability/istio/workload-peer.js';

const ratings: WorkloadPeer = {
  ...UNKNOWN_PEER,
  name: 'ratings-v1-7dc98c7588-x',
  namespace: 'default',
  workloadName: 'ratings-v1',
  clusterId: 'Kubernetes',
  owner: 'kubernetes://apis/apps/v1/namespaces/default/deployments/ratings-v1',
  app: 'ratings',
  version: 'v1',
  canonicalService: 'ratings',
  canonicalRevision: 'v1',
  principal: 'spiffe://cluster.local/ns/default/sa/bookinfo-ratings',
};

t.test('the preamble: magic, length, then an Any-wrapped Struct that reads back', async (t) => {
  const bytes = encodeTcpExchange(ratings, 'sidecar~10.0.0.7~ratings-v1-7dc98c7588-x.default~default.svc.cluster.local');
  t.equal(bytes.readUInt32BE(0), EXCHANGE_MAGIC);
  t.equal(bytes.readUInt32BE(4), bytes.length - 8, 'the length counts the payload only');
  t.ok(bytes.includes(Buffer.from('type.googleapis.com/google.protobuf.Struct')), 'an Any of a Struct');
  const r = new TcpExchangeReader().feed(Buffer.concat([bytes, Buffer.from('app bytes')]));
  t.equal(r.state, 'done');
  if (r.state !== 'done') return;
  t.same(r.peer, ratings, 'every field of the peer');
  t.equal(r.nodeId, 'sidecar~10.0.0.7~ratings-v1-7dc98c7588-x.default~default.svc.cluster.local');
  t.equal(r.rest.toString(), 'app bytes', 'the bytes after it are the connection\'s');
});

t.test('byte by byte: more, then done', async (t) => {
  const bytes = encodeTcpExchange(ratings, 'id');
  const reader = new TcpExchangeReader();
  for (let i = 0; i < bytes.length - 1; i++) if (reader.feed(bytes.subarray(i, i + 1)).state !== 'more') t.fail(`decided at byte ${i}`);
  const last = reader.feed(bytes.subarray(bytes.length - 1));
  t.equal(last.state, 'done');
});

t.test('failures: bad magic, oversized, garbage', async (t) => {
  t.match(new TcpExchangeReader().feed(Buffer.from('GET / HTTP/1.1\r\n')), { state: 'failed', reason: /bad magic/ });
  const big = Buffer.alloc(8);
  big.writeUInt32BE(EXCHANGE_MAGIC, 0);
  big.writeUInt32BE(MAX_EXCHANGE_BYTES + 1, 4);
  t.match(new TcpExchangeReader().feed(big), { state: 'failed', reason: /over/ });
  const junk = Buffer.concat([Buffer.from([0x3d, 0x23, 0x04, 0x67, 0, 0, 0, 4]), Buffer.from([0xff, 0xff, 0xff, 0xff])]);
  t.match(new TcpExchangeReader().feed(junk), { state: 'failed' });
});
