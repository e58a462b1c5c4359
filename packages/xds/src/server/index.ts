export * from './should-respond.js';
export * from './snapshot.js';
export * from './consistency.js';
export * from './snapshot-cache.js';
export * from './sync-status.js';
export * from './ads-stream.js';
export * from './xds-server.js';
