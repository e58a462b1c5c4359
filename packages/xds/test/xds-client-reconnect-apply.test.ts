/**
 * A stream that ends while `onConfig` is still running: the new stream has dropped the pending
 * responses, so the old apply must not ACK (or mark applied) anything; the new stream's
 * responses are applied and ACKed normally.
 */
import t from 'tap';
import { once } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import type { DiscoveryRequest } from '@minimesh/api';
import { ADS_SERVICE_DEFINITION, type DiscoveryResponseOut } from '../src/ads-service.js';
import { XdsClient } from '../src/client/xds-client.js';
import { CDS, LDS } from '../src/type-urls.js';

t.test('a reconnect while onConfig is awaited skips the old apply bookkeeping', async (t) => {
  const streams: grpc.ServerDuplexStream<DiscoveryRequest, DiscoveryResponseOut>[] = [];
  const acks: string[] = [];
  const server = new grpc.Server();
  server.addService(ADS_SERVICE_DEFINITION, {
    StreamAggregatedResources: (call: grpc.ServerDuplexStream<DiscoveryRequest, DiscoveryResponseOut>) => {
      const n = streams.push(call);
      call.on('data', (req: DiscoveryRequest) => {
        if (req.response_nonce) {
          if (!req.error_detail) acks.push(`stream ${n} ${req.type_url === CDS ? 'CDS' : 'LDS'} ${req.version_info} ${req.response_nonce}`);
          return;
        }
        if (req.type_url === CDS) call.write({ version_info: `v${n}`, type_url: CDS, nonce: `c${n}`, resources: [] });
        if (req.type_url === LDS) call.write({ version_info: `v${n}`, type_url: LDS, nonce: `l${n}`, resources: [] });
      });
      call.on('end', () => call.end());
      call.on('error', () => {});
    },
  });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  t.teardown(() => server.forceShutdown());

  const warnings: string[] = [];
  let release: () => void = () => {};
  let calls = 0;
  let started: () => void = () => {};
  const firstApplyStarted = new Promise<void>((r) => (started = r));
  const client = new XdsClient({
    server: `127.0.0.1:${port}`,
    node: { id: 'n' },
    backoff: { initialMs: 10, maxMs: 10 },
    log: { debug: () => {}, info: () => {}, warn: (o, m) => warnings.push(`${m} ${JSON.stringify(o)}`) },
    onConfig: async () => {
      if (++calls > 1) return;
      started();
      await new Promise<void>((r) => (release = r)); // the first apply waits for the test
    },
  });
  client.start();
  t.teardown(() => client.close());
  await firstApplyStarted;
  // The server ends the stream; the client reconnects while the first apply is still running.
  streams[0].end();
  await once(client, 'connected');
  release();
  await once(client, 'applied');
  await new Promise((r) => setTimeout(r, 50));
  t.same(warnings.filter((w) => w.startsWith('xDS: error handling a response')), [], 'no error from the stale apply');
  t.same(client.versions(), { [CDS]: 'v2', [LDS]: 'v2' }, "the new stream's config is applied");
  t.same(acks.sort(), ['stream 2 CDS v2 c2', 'stream 2 LDS v2 l2'], 'only the new stream ACKs, with its own nonces');
});
