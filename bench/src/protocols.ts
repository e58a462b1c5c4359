// The protocols the bench loads the scenarios with: HTTP/1.1 (the main table), HTTP/2 (h2c
// with prior knowledge, loaded by h2load) and gRPC (unary calls, loaded by grpc-js).
import type { ScenarioName } from './scenarios.js';

export type Protocol = 'http1' | 'h2' | 'grpc';

export const ALL_PROTOCOLS: readonly Protocol[] = ['http1', 'h2', 'grpc'];

export const PROTOCOL_LABEL: Record<Protocol, string> = {
  http1: 'HTTP/1.1',
  h2: 'h2',
  grpc: 'gRPC',
};

/** the h2 and gRPC rows: nginx is left out (it has no h2c upstream) */
export const H2_SCENARIOS: readonly ScenarioName[] = ['direct', 'proxy1', 'proxy2', 'proxy2-mtls'];

/** the scenarios of `only` a protocol runs */
export function scenariosFor(protocol: Protocol, only: readonly ScenarioName[]): ScenarioName[] {
  return protocol === 'http1' ? [...only] : only.filter((s) => H2_SCENARIOS.includes(s));
}

/** the upstream program (bench/dist/src/NAME.js) answering each protocol */
export const UPSTREAM_PROGRAM: Record<Protocol, string> = {
  http1: 'upstream',
  h2: 'upstream-h2',
  grpc: 'upstream-grpc',
};
