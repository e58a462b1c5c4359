/**
 * SDS over ADS, the client's side: a listener whose TLS chain names `kubernetes://web` (and the
 * agent's own `ROOTCA`) makes the client ask for `kubernetes://web` alone; the listener is not
 * applied until that secret arrives (Envoy's warming), then the secret goes to `onSecrets`,
 * is ACKed, and the config applies. A changed secret is handed over again.
 */
import t from 'tap';
import { once } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import type { DiscoveryRequest, Listener } from '@minimesh/api';
import { encodeResource, fromJsonData } from '@minimesh/api';
import { ADS_SERVICE_DEFINITION, type DiscoveryResponseOut } from '../src/ads-service.js';
import { XdsClient } from '../src/client/xds-client.js';
import type { ReceivedSecret } from '../src/client/sds-secrets.js';
import { CDS, LDS, SDS } from '../src/type-urls.js';

const sds = (name: string) => ({ name, sds_config: { ads: {}, resource_api_version: 'V3' } });
const LISTENER = {
  name: 'https',
  address: { socket_address: { address: '127.0.0.1', port_value: 0 } },
  filter_chains: [
    {
      filter_chain_match: { server_names: ['web.example.com'] },
      transport_socket: {
        name: 'envoy.transport_sockets.tls',
        typed_config: {
          '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext',
          require_client_certificate: true,
          common_tls_context: { tls_certificate_sds_secret_configs: [sds('kubernetes://web')], combined_validation_context: { default_validation_context: {}, validation_context_sds_secret_config: sds('ROOTCA') } },
        },
      },
      filters: [
        {
          name: 'envoy.filters.network.http_connection_manager',
          typed_config: {
            '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
            stat_prefix: 'https',
            route_config: { name: 'r', virtual_hosts: [{ name: 'all', domains: ['*'], routes: [{ match: { prefix: '/' }, direct_response: { status: 200 } }] }] },
            http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } }],
          },
        },
      ],
    },
  ],
};
const secret = (pem: string) => ({ type_url: SDS, value: encodeResource(SDS, { name: 'kubernetes://web', tls_certificate: { certificate_chain: { inline_string: pem }, private_key: { inline_string: 'KEY' } } }) });

t.test('a listener waits for its SDS secret; the secret is handed over and ACKed', async (t) => {
  const parsed = fromJsonData<Listener>(LDS, LISTENER);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  const requests: DiscoveryRequest[] = [];
  let sdsCall: grpc.ServerDuplexStream<DiscoveryRequest, DiscoveryResponseOut> | undefined;
  const server = new grpc.Server();
  server.addService(ADS_SERVICE_DEFINITION, {
    StreamAggregatedResources: (call: grpc.ServerDuplexStream<DiscoveryRequest, DiscoveryResponseOut>) => {
      call.on('data', (req: DiscoveryRequest) => {
        requests.push(req);
        if (req.response_nonce) return;
        if (req.type_url === CDS) call.write({ version_info: 'v1', type_url: CDS, nonce: 'c1', resources: [] });
        if (req.type_url === LDS) call.write({ version_info: 'v1', type_url: LDS, nonce: 'l1', resources: [{ type_url: LDS, value: encodeResource(LDS, parsed.value) }] });
        if (req.type_url === SDS) sdsCall = call; // answered by the test, later
      });
      call.on('end', () => call.end());
    },
  });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  t.teardown(() => server.forceShutdown());
  let applied = 0;
  const received: ReceivedSecret[][] = [];
  const client = new XdsClient({ server: `127.0.0.1:${port}`, node: { id: 'n' }, onConfig: () => void applied++, onSecrets: (s) => void received.push([...s]) });
  client.start();
  t.teardown(() => client.close());
  const until = async (cond: () => boolean): Promise<void> => {
    for (let i = 0; i < 100 && !cond(); i++) await new Promise((r) => setTimeout(r, 20));
  };
  await until(() => sdsCall !== undefined);
  t.same(requests.find((r) => r.type_url === SDS)?.resource_names, ['kubernetes://web'], 'asks for the credential only, not the agent secret ROOTCA');
  await new Promise((r) => setTimeout(r, 200));
  t.equal(applied, 0, 'the listener is not applied before its secret');
  sdsCall!.write({ version_info: 's1', type_url: SDS, nonce: 's1', resources: [secret('CERT-1')] });
  await once(client, 'applied');
  t.equal(applied, 1, 'applied once the secret arrived');
  t.same(received.map((r) => r.map((s) => [s.name, s.certificateChain, s.privateKey])), [[['kubernetes://web', 'CERT-1', 'KEY']]]);
  await until(() => requests.some((r) => r.type_url === SDS && r.response_nonce === 's1'));
  const ack = requests.find((r) => r.type_url === SDS && r.response_nonce === 's1');
  t.equal(ack?.version_info, 's1', 'ACKed');
  t.notOk(ack?.error_detail, 'without an error');
  sdsCall!.write({ version_info: 's2', type_url: SDS, nonce: 's2', resources: [secret('CERT-2')] });
  await until(() => received.length === 2);
  t.equal(received[1][0].certificateChain, 'CERT-2', 'a changed secret is handed over');
  sdsCall!.write({ version_info: 's3', type_url: SDS, nonce: 's3', resources: [{ type_url: SDS, value: encodeResource(SDS, { name: 'kubernetes://web' }) }] });
  await until(() => requests.some((r) => r.response_nonce === 's3'));
  t.match(requests.find((r) => r.response_nonce === 's3')?.error_detail?.message ?? '', /needs tls_certificate or validation_context/, 'an empty secret is NACKed');
});
