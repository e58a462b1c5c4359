export * from './protos.js';
export * from './proto-files.js';
export * from './json-check.js';
export * from './bootstrap.js';
export * from './resources.js';
export * from './well-known-types.js';
export type * from './types.js';
