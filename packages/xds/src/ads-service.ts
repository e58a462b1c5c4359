/**
 * `envoy.service.discovery.v3.AggregatedDiscoveryService`, as a grpc-js service definition
 * built on the real DiscoveryRequest / DiscoveryResponse messages of Envoy's protos
 * (envoy/service/discovery/v3/ads.proto, discovery.proto). Messages are plain objects in
 * minimesh's usual form (snake_case, enums as names, `Any`s packed: `{type_url, value}`).
 * Only the state-of-the-world method is served; grpc-js answers UNIMPLEMENTED for the delta one.
 */
import type * as grpc from '@grpc/grpc-js';
import { lookupType, TO_OBJECT_OPTIONS, TYPE_URL, type DiscoveryRequest, type DiscoveryResponse } from '@minimesh/api';

export const ADS_SERVICE_NAME = 'envoy.service.discovery.v3.AggregatedDiscoveryService';
export const ADS_METHOD_PATH = `/${ADS_SERVICE_NAME}/StreamAggregatedResources`;

/** A DiscoveryResponse as minimesh builds it (resources already packed). */
export interface DiscoveryResponseOut {
  readonly version_info: string;
  readonly resources: readonly { readonly type_url: string; readonly value: Uint8Array }[];
  readonly type_url: string;
  readonly nonce: string;
  readonly control_plane?: { readonly identifier: string };
}

/** A DiscoveryRequest as minimesh builds it. */
export interface DiscoveryRequestOut {
  readonly version_info: string;
  readonly node?: object;
  readonly resource_names: readonly string[];
  readonly type_url: string;
  readonly response_nonce: string;
  readonly error_detail?: { readonly code: number; readonly message: string };
}

function serializer(typeUrl: string): (value: object) => Buffer {
  return (value) => {
    const type = lookupType(typeUrl);
    return Buffer.from(type.encode(type.fromObject(value)).finish());
  };
}

function deserializer<T>(typeUrl: string): (bytes: Buffer) => T {
  return (bytes) => {
    const type = lookupType(typeUrl);
    return type.toObject(type.decode(bytes), TO_OBJECT_OPTIONS) as T;
  };
}

export const serializeRequest = serializer(TYPE_URL.DiscoveryRequest) as (r: DiscoveryRequestOut) => Buffer;
export const deserializeRequest = deserializer<DiscoveryRequest>(TYPE_URL.DiscoveryRequest);
export const serializeResponse = serializer(TYPE_URL.DiscoveryResponse) as (r: DiscoveryResponseOut) => Buffer;
export const deserializeResponse = deserializer<DiscoveryResponse>(TYPE_URL.DiscoveryResponse);

/** The service definition to pass to `grpc.Server.addService`. */
export const ADS_SERVICE_DEFINITION: grpc.ServiceDefinition = {
  StreamAggregatedResources: {
    path: ADS_METHOD_PATH,
    requestStream: true,
    responseStream: true,
    requestSerialize: serializeRequest,
    requestDeserialize: deserializeRequest,
    responseSerialize: serializeResponse,
    responseDeserialize: deserializeResponse,
    originalName: 'streamAggregatedResources',
  } as grpc.MethodDefinition<DiscoveryRequestOut | DiscoveryRequest, DiscoveryResponseOut | DiscoveryResponse>,
};
