/**
 * Istio's TCP metadata exchange filter (`istio.metadata_exchange` as a network filter, config
 * `MetadataExchange{protocol: "istio-peer-exchange"}` in a TypedStruct, as Istio's
 * `TCPListenerMx` is): put first on the inbound mTLS chains that carry TCP, so the client's
 * workload metadata arrives ahead of the bytes and the server answers with its own. Those
 * chains are the only ones whose TLS selects the `istio-peer-exchange` ALPN.
 */
import { METADATA_EXCHANGE_FILTER, PEER_EXCHANGE_ALPN, TCP_METADATA_EXCHANGE_CONFIG_TYPE } from '@minimesh/mesh';
import type { JsonObject } from './envoy-json.js';

const TYPED_STRUCT = 'type.googleapis.com/udpa.type.v1.TypedStruct';

export function tcpMetadataExchangeFilter(): JsonObject {
  return {
    name: METADATA_EXCHANGE_FILTER,
    typed_config: { '@type': TYPED_STRUCT, type_url: TCP_METADATA_EXCHANGE_CONFIG_TYPE, value: { protocol: PEER_EXCHANGE_ALPN, enable_discovery: true } },
  };
}
