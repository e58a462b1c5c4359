/**
 * One DiscoveryResponse's resources -> compiled entries by name. A resource whose bytes are
 * those of the entry already held keeps that entry (and its compiled object): the proxy then
 * keeps, for instance, a cluster's connection pools across pushes that did not touch it.
 */
import { decodeResource, type AnyLike } from '@minimesh/api';
import { compileCluster, compileListener, compileLoadAssignment, compileRouteConfiguration, prefixErrors, type CompileResult, type ConfigError, type XdsResourceKind } from '@minimesh/config';
import { CDS, EDS, LDS, resourceName, type XdsTypeUrl } from '../type-urls.js';

export interface ResourceEntry {
  readonly name: string;
  readonly bytes: Buffer;
  /** The resource as an Envoy object (plain-object form). */
  readonly resource: object;
  /** ListenerRt, RouteConfigRt, ClusterRt or EndpointRt[] by type. */
  readonly compiled: unknown;
  /** version_info of the response this resource last changed in. */
  readonly version: string;
  readonly lastUpdated: Date;
}

export type DecodeResult = { readonly ok: true; readonly entries: Map<string, ResourceEntry> } | { readonly ok: false; readonly errors: ConfigError[] };

const KIND: Readonly<Record<Exclude<XdsTypeUrl, 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret'>, XdsResourceKind>> = {
  [LDS]: 'listener',
  [CDS]: 'cluster',
  [EDS]: 'endpoints',
  'type.googleapis.com/envoy.config.route.v3.RouteConfiguration': 'route',
};

function compile(typeUrl: XdsTypeUrl, r: object): CompileResult<unknown> {
  switch (typeUrl) {
    case LDS:
      return compileListener(r as never);
    case CDS:
      return compileCluster(r as never);
    case EDS:
      return compileLoadAssignment(r as never);
    default:
      return compileRouteConfiguration(r as never);
  }
}

export function decodeResources(typeUrl: XdsTypeUrl, anys: readonly AnyLike[], version: string, held: ReadonlyMap<string, ResourceEntry> | undefined): DecodeResult {
  const errors: ConfigError[] = [];
  const entries = new Map<string, ResourceEntry>();
  anys.forEach((any, i) => {
    if (any.type_url !== typeUrl) {
      errors.push({ path: `resources[${i}]`, message: `type_url ${any.type_url ?? '(none)'} in a response of type ${typeUrl}` });
      return;
    }
    const bytes = Buffer.from(any.value ?? new Uint8Array());
    let resource: object;
    try {
      resource = decodeResource<object>(typeUrl, bytes);
    } catch (e) {
      errors.push({ path: `resources[${i}]`, message: `cannot decode: ${(e as Error).message}` });
      return;
    }
    const name = resourceName(typeUrl, resource);
    if (entries.has(name)) {
      errors.push(...prefixErrors(KIND[typeUrl as keyof typeof KIND], name, [{ path: '', message: 'sent twice in one response' }]));
      return;
    }
    const old = held?.get(name);
    if (old !== undefined && old.bytes.equals(bytes)) {
      entries.set(name, old);
      return;
    }
    const r = compile(typeUrl, resource);
    if (!r.ok) {
      errors.push(...prefixErrors(KIND[typeUrl as keyof typeof KIND], name, r.errors));
      return;
    }
    entries.set(name, { name, bytes, resource, compiled: r.value, version, lastUpdated: new Date() });
  });
  return errors.length > 0 ? { ok: false, errors } : { ok: true, entries };
}
