/**
 * A listener whose routes never come waits, unapplied, then is NACKed with what is missing.
 * The server here is hand-written (our SnapshotCache refuses such a snapshot).
 */
import t from 'tap';
import { once } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import type { DiscoveryRequest } from '@minimesh/api';
import { encodeResource } from '@minimesh/api';
import { ADS_SERVICE_DEFINITION, type DiscoveryResponseOut } from '../src/ads-service.js';
import { XdsClient } from '../src/client/xds-client.js';
import { CDS, LDS } from '../src/type-urls.js';
import { listener } from './helpers/resources.js';

t.test('an incomplete config is never applied, and is NACKed after pendingTimeoutMs', async (t) => {
  const nacks: DiscoveryRequest[] = [];
  const server = new grpc.Server();
  server.addService(ADS_SERVICE_DEFINITION, {
    StreamAggregatedResources: (call: grpc.ServerDuplexStream<DiscoveryRequest, DiscoveryResponseOut>) => {
      call.on('data', (req: DiscoveryRequest) => {
        if (req.error_detail) nacks.push(req);
        if (req.response_nonce) return;
        if (req.type_url === CDS) call.write({ version_info: 'v1', type_url: CDS, nonce: 'c1', resources: [] });
        if (req.type_url === LDS) call.write({ version_info: 'v1', type_url: LDS, nonce: 'l1', resources: [{ type_url: LDS, value: encodeResource(LDS, listener('l', 0, 'never')) }] });
        // RDS requests are never answered.
      });
      call.on('end', () => call.end());
    },
  });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  t.teardown(() => server.forceShutdown());
  let applied = 0;
  const client = new XdsClient({ server: `127.0.0.1:${port}`, node: { id: 'n' }, onConfig: () => void applied++, pendingTimeoutMs: 300 });
  client.start();
  t.teardown(() => client.close());
  const [type, message] = (await once(client, 'nack')) as [string, string];
  t.equal(applied, 0, 'nothing applied');
  t.equal(type, CDS, 'the waiting CDS and LDS responses are both NACKed');
  t.match(message, /incomplete config after 300 ms/);
  t.match(message, /listener l: .*rds\.route_config_name: no RouteConfiguration "never"/);
  await new Promise((r) => setTimeout(r, 50));
  t.same(nacks.map((n) => [n.type_url, n.response_nonce, n.version_info]).sort(), [[CDS, 'c1', ''], [LDS, 'l1', '']].sort());
});
