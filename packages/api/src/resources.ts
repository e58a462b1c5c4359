/** Binary <-> plain-object conversions for xDS resources and `Any`s. */
import { toProto3JSON } from 'proto3-json-serializer';
import { findType, lookupType, TO_OBJECT_OPTIONS } from './protos.js';

/** A packed `google.protobuf.Any` in plain-object form. */
export interface AnyLike {
  readonly type_url?: string;
  readonly value?: Uint8Array | Buffer;
}

/** Decodes a serialized resource of type `typeUrl` into its plain-object (`__Output`) form. */
export function decodeResource<T = unknown>(typeUrl: string, bytes: Uint8Array): T {
  const type = lookupType(typeUrl);
  return type.toObject(type.decode(bytes), TO_OBJECT_OPTIONS) as T;
}

/** Encodes a plain object (snake_case, enums as names, Anys packed) as resource `typeUrl`. */
export function encodeResource(typeUrl: string, obj: object): Uint8Array {
  const type = lookupType(typeUrl);
  const err = type.verify(type.fromObject(obj));
  if (err) throw new Error(`encodeResource(${typeUrl}): ${err}`);
  return type.encode(type.fromObject(obj)).finish();
}

/** Unpacks an `Any`; throws when its type is unknown to minimesh. */
export function unpackAny<T = unknown>(any: AnyLike): T {
  if (!any.type_url) throw new Error('Any without type_url');
  return decodeResource<T>(any.type_url, any.value ?? new Uint8Array());
}

/** Like unpackAny, but returns undefined for a type minimesh did not load. */
export function tryUnpackAny<T = unknown>(any: AnyLike): T | undefined {
  if (!any.type_url || !findType(any.type_url)) return undefined;
  return decodeResource<T>(any.type_url, any.value ?? new Uint8Array());
}

/** Packs a plain object as an `Any` of type `typeUrl`. */
export function packAny(typeUrl: string, obj: object): { type_url: string; value: Buffer } {
  return { type_url: typeUrl, value: Buffer.from(encodeResource(typeUrl, obj)) };
}

/** A plain object back to proto3 JSON (Anys expanded with "@type"), e.g. for config dumps. */
export function toJsonData(typeUrl: string, obj: object): unknown {
  const type = lookupType(typeUrl);
  return toProto3JSON(type.fromObject(obj));
}
