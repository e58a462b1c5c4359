export * from './fake-api-server.js';
export * from './collections.js';
export * from './label-selector.js';
export * from './patch.js';
export { AdmissionError, type AdmissionCall, type ServiceResolver, type Webhook, type WebhookConfiguration } from './admission.js';
export type { Obj, EventType } from './object-store.js';
export * from './token-review.js';
