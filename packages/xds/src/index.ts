/**
 * @minimesh/xds: Envoy's xDS v3 (ADS, state of the world), apart from any translation.
 * `@minimesh/xds/server`: SnapshotCache, XdsServer, shouldRespond, sync status.
 * `@minimesh/xds/client`: XdsClient. This entry exports both, plus the service definition.
 */
export * from './type-urls.js';
export * from './ads-service.js';
export * from './ca-service.js';
export * from './logger.js';
export * from './server/index.js';
export * from './client/index.js';
