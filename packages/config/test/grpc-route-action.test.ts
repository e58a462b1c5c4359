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
  t.match(errs.join('\n'), /^virtual_hosts\[0\]\.routes\[0\]\.route\.max_grpc_timeout: negative duration "-1s"/);
});

t.test('max_stream_duration compiles each field to milliseconds; unset fields stay undefined', async (t) => {
  let a = action(rc('max_stream_duration: {max_stream_duration: 2s, grpc_timeout_header_max: 1s, grpc_timeout_header_offset: 0.05s}'));
  t.same(a.maxStreamDuration, { maxStreamDurationMs: 2000, grpcTimeoutHeaderMaxMs: 1000, grpcTimeoutHeaderOffsetMs: 50 });
  a = action(rc('max_stream_duration: {grpc_timeout_header_max: 0s}'));
  t.same(a.maxStreamDuration, { maxStreamDurationMs: undefined, grpcTimeoutHeaderMaxMs: 0, grpcTimeoutHeaderOffsetMs: undefined }, '0 = no cap, and still set');
  a = action(rc('max_stream_duration: {}'));
  t.same(a.maxStreamDuration, { maxStreamDurationMs: undefined, grpcTimeoutHeaderMaxMs: undefined, grpcTimeoutHeaderOffsetMs: undefined }, 'an empty message still switches to stream-duration timeouts');
  a = action(rc('timeout: 3s'));
  t.equal(a.maxStreamDuration, undefined, 'absent: the route timeout applies');
});

t.test('a bad max_stream_duration value is rejected naming the field and its path', async (t) => {
  const errs = routeConfigErrors(rc('max_stream_duration: {grpc_timeout_header_offset: -2s}'));
  t.equal(errs.length, 1);
  t.match(errs[0], /^virtual_hosts\[0\]\.routes\[0\]\.route\.max_stream_duration\.grpc_timeout_header_offset: .*-2s/);
  const bad = routeConfigErrors(rc('max_stream_duration: {max_stream_duration: soon}'));
  t.match(bad.join('\n'), /^virtual_hosts\[0\]\.routes\[0\]\.route\.max_stream_duration\.max_stream_duration: /);
  const unknown = routeConfigErrors(rc('max_stream_duration: {max_stream_duration: 1s, bogus: 1}'));
  t.match(unknown.join('\n'), /max_stream_duration/);
});
