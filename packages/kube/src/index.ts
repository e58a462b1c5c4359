export * from './types.js';
export * from './protocol.js';
export * from './issues.js';
export * from './validate.js';
export * from './parse.js';
export { parseDurationMs } from './check.js';
export * from './validate-telemetry.js';
export * from './validate-authz.js';
export * from './validate-request-authn.js';
