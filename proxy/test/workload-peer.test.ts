/**
 * Istio's HTTP metadata exchange encoding: `x-envoy-peer-metadata` is base64 of the protobuf
 * binary of a google.protobuf.Struct. Decoded here by protobufjs from the Struct .proto it
 * ships (not through minimesh's own loader), as another Istio proxy would read it.
 */
import t from 'tap';
import { createRequire } from 'node:module';
import path from 'node:path';
import protobuf from 'protobufjs';
import { decodePeerHeader, encodePeerHeader, peerFromEndpointMetadata, peerFromNodeMetadata, PeerCache, UNKNOWN_PEER } from '@minimesh/proxy/observability/istio/workload-peer';

const require = createRequire(import.meta.url);
const structProto = path.join(path.dirname(require.resolve('protobufjs/package.json')), 'google', 'protobuf', 'struct.proto');
const Struct = protobuf.loadSync(structProto).lookupType('google.protobuf.Struct');

const node = {
  NAME: 'echo-deployment-7d9f-abcde',
  NAMESPACE: 'client',
  WORKLOAD_NAME: 'echo-deployment',
  CLUSTER_ID: 'Kubernetes',
  OWNER: 'kubernetes://apis/apps/v1/namespaces/client/deployments/echo-deployment',
  LABELS: { app: 'echo', version: 'v1', 'pod-template-hash': '7d9f' },
};

t.test('the header decodes as a google.protobuf.Struct with Istio\'s keys', async (t) => {
  const value = encodePeerHeader(peerFromNodeMetadata(node));
  t.match(value, /^[A-Za-z0-9+/]+=*$/, 'base64, padded');
  const msg = Struct.decode(Buffer.from(value, 'base64'));
  const json = Struct.toObject(msg, { oneofs: true }) as { fields: Record<string, { kind: string; stringValue?: string; structValue?: { fields: Record<string, { stringValue: string }> } }> };
  const f = json.fields;
  t.same(Object.keys(f).sort(), ['CLUSTER_ID', 'LABELS', 'NAME', 'NAMESPACE', 'OWNER', 'WORKLOAD_NAME']);
  t.equal(f.NAME.stringValue, 'echo-deployment-7d9f-abcde');
  t.equal(f.NAMESPACE.stringValue, 'client');
  t.equal(f.WORKLOAD_NAME.stringValue, 'echo-deployment');
  t.equal(f.CLUSTER_ID.stringValue, 'Kubernetes');
  t.equal(f.OWNER.stringValue, node.OWNER);
  const labels = Object.fromEntries(Object.entries(f.LABELS.structValue!.fields).map(([k, v]) => [k, v.stringValue]));
  t.same(labels, { app: 'echo', 'service.istio.io/canonical-name': 'echo', 'service.istio.io/canonical-revision': 'v1', version: 'v1' }, 'the labels Istio sends (not every pod label)');
  // Deterministic: the same bytes every time, fields in key order.
  t.equal(encodePeerHeader(peerFromNodeMetadata(node)), value);
  t.same(Object.keys(f), Object.keys(f).slice().sort(), 'map entries in key order');
});

t.test('a Struct written by another encoder reads back; app.kubernetes.io labels win', async (t) => {
  const obj = {
    fields: {
      WORKLOAD_NAME: { stringValue: 'reviews-v2' },
      NAMESPACE: { stringValue: 'default' },
      CLUSTER_ID: { stringValue: 'east' },
      EXTRA: { stringValue: 'ignored' },
      LABELS: { structValue: { fields: { app: { stringValue: 'reviews' }, 'app.kubernetes.io/name': { stringValue: 'reviews-k8s' }, version: { stringValue: 'v2' } } } },
    },
  };
  const header = Buffer.from(Struct.encode(Struct.fromObject(obj)).finish()).toString('base64');
  const p = decodePeerHeader(header)!;
  t.equal(p.workloadName, 'reviews-v2');
  t.equal(p.namespace, 'default');
  t.equal(p.clusterId, 'east');
  t.equal(p.app, 'reviews-k8s');
  t.equal(p.version, 'v2');
  t.equal(p.canonicalService, 'reviews-k8s');
  t.equal(p.canonicalRevision, 'v2');
  t.equal(p.principal, 'unknown');
});

t.test('garbage is an unknown peer, never an exception', async (t) => {
  for (const bad of ['', '!!!', 'AAAA', Buffer.from('not protobuf at all').toString('base64'), 'x'.repeat(20000)]) t.equal(decodePeerHeader(bad), undefined, JSON.stringify(bad.slice(0, 20)));
  const cache = new PeerCache(2);
  t.equal(cache.get('!!!'), UNKNOWN_PEER);
  t.equal(UNKNOWN_PEER.canonicalRevision, 'latest');
});

t.test('endpoint metadata istio.workload: NAME;NAMESPACE;CANONICAL_NAME;REVISION;CLUSTER', async (t) => {
  const p = peerFromEndpointMetadata('echo-deployment;client;echo;v1;Kubernetes')!;
  t.same([p.workloadName, p.namespace, p.canonicalService, p.canonicalRevision, p.clusterId, p.app], ['echo-deployment', 'client', 'echo', 'v1', 'Kubernetes', 'unknown']);
  t.equal(peerFromEndpointMetadata(''), undefined);
  t.equal(peerFromEndpointMetadata('x;;;;')!.canonicalRevision, 'latest');
});
