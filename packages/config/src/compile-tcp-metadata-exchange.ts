/**
 * `istio.metadata_exchange` as a network filter before tcp_proxy (Istio's TCP metadata
 * exchange): its config, a TypedStruct of `envoy.tcp.metadataexchange.config.MetadataExchange`
 * (`protocol`, the ALPN under which it runs, and `enable_discovery`). A chain with it runs the
 * exchange when its TLS negotiated that ALPN; a chain without it never selects that ALPN.
 */
import { TYPE_URL, unpackAny, type AnyLike } from '@minimesh/api';
import { TCP_METADATA_EXCHANGE_CONFIG_TYPE } from '@minimesh/mesh';
import { join, structToJson, type Errors } from './errors.js';

/** The newer home of the TypedStruct message (also accepted). */
const XDS_TYPED_STRUCT = 'type.googleapis.com/xds.type.v3.TypedStruct';

export interface TcpMetadataExchangeRt {
  /** The ALPN the exchange runs under (Istio: `istio-peer-exchange`). */
  readonly protocol: string;
}

export function compileTcpMetadataExchange(any: AnyLike | undefined | null, path: string, errors: Errors): TcpMetadataExchangeRt | undefined {
  if (!any || (any.type_url !== TYPE_URL.TypedStruct && any.type_url !== XDS_TYPED_STRUCT)) {
    errors.add(path, `expected a ${TYPE_URL.TypedStruct} carrying ${TCP_METADATA_EXCHANGE_CONFIG_TYPE} (got ${any?.type_url ?? 'no typed_config'})`);
    return undefined;
  }
  const ts = unpackAny<{ type_url?: string; value?: unknown }>(any);
  if (ts.type_url !== TCP_METADATA_EXCHANGE_CONFIG_TYPE) {
    errors.add(join(path, 'type_url'), `expected ${TCP_METADATA_EXCHANGE_CONFIG_TYPE} (got ${ts.type_url || 'none'})`);
    return undefined;
  }
  const value = structToJson(ts.value);
  const vp = join(path, 'value');
  for (const k of Object.keys(value)) {
    if (!['protocol', 'enable_discovery', 'enableDiscovery'].includes(k)) errors.add(join(vp, k), 'field not supported by minimesh');
  }
  const protocol = value.protocol;
  if (typeof protocol !== 'string' || protocol === '') {
    errors.add(join(vp, 'protocol'), 'must name the ALPN the exchange runs under (istio-peer-exchange)');
    return undefined;
  }
  return { protocol };
}
