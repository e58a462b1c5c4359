/** A route's gRPC timeout fields: `max_grpc_timeout` and `grpc_timeout_offset`. */
import t from 'tap';
import type { ForwardActionRt } from '../src/index.js';
import { routeConfig, routeConfigErrors } from './helpers.js';

const rc = (action: string): string => `
name: r
virtual_hosts:
- name: v
  domains: ['*']
  routes:
  - match: {prefix: /}
    route: {cluster: c, ${action}}
`;

function action(yaml: string): ForwardActionRt {
  const a = routeConfig(yaml).virtualHosts[0].routes[0].action;
  if (a.kind !== 'forward') throw new Error('not a forward action');
  return a;
}

t.test('max_grpc_timeout and grpc_timeout_offset compile to milliseconds; unset stays undefined', async (t) => {
  let a = action(rc('max_grpc_timeout: 1.5s, grpc_timeout_offset: 0.01s'));
  t.equal(a.maxGrpcTimeoutMs, 1500);
  t.equal(a.grpcTimeoutOffsetMs, 10);
  a = action(rc('max_grpc_timeout: 0s'));
  t.equal(a.maxGrpcTimeoutMs, 0, '0 = no cap, and still set');
  a = action(rc('timeout: 3s'));
  t.equal(a.maxGrpcTimeoutMs, undefined, 'not set: the route timeout applies');
  t.equal(a.grpcTimeoutOffsetMs, 0);
});

t.test('a negative max_grpc_timeout is rejected', async (t) => {
  const errs = routeConfigErrors(rc('max_grpc_timeout: -1s'));
  t.match(errs.join('\n'), /-1s .*Duration/);
});

t.test('max_stream_duration (grpc_timeout_header_max) is refused by name, not ignored', async (t) => {
  const errs = routeConfigErrors(rc('max_stream_duration: {grpc_timeout_header_max: 1s}'));
  t.match(errs.join('\n'), /routes\[0\]\.route.*max_stream_duration/);
});
