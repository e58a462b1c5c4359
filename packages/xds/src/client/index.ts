export * from './backoff.js';
export * from './decode-resources.js';
export * from './node-identity.js';
export * from './xds-client.js';
export * from './sds-secrets.js';
