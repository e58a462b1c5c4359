/**
 * capture/chain-capture.ts: what a capture listener with filter chains (virtualInbound) takes
 * as a connection's destination. The real thing (SO_ORIGINAL_DST under iptables) runs in
 * injector/test/netns-e2e.test.ts; here the original destination is given.
 */
import t from 'tap';
import type net from 'node:net';
import type { ListenerRt } from '@minimesh/config/runtime';
import { capturedDestination, hostPort } from '../src/capture/chain-capture.js';

const socket = {} as net.Socket;
const listener = (capture: boolean): ListenerRt => ({ name: 'virtualInbound', address: '0.0.0.0', port: 15006, filterChains: [], ...(capture ? { capture: { direction: 'INBOUND', tcpPorts: new Set<number>() } } : {}) });

t.test('the original destination decides; the proxy\'s own ports are refused', async (t) => {
  t.same(capturedDestination(socket, listener(true), () => ({ address: '10.0.0.5', port: 8080 })), { refuse: false, dst: { address: '10.0.0.5', port: 8080 } }, 'redirected: its original destination');
  t.same(capturedDestination(socket, listener(true), () => undefined), { refuse: false, dst: undefined }, 'not redirected: no destination (the chains see 15006)');
  for (const port of [15000, 15001, 15006, 15021, 15090]) t.same(capturedDestination(socket, listener(true), () => ({ address: '10.0.0.5', port })), { refuse: true }, `port ${port} of the proxy itself: refused`);
  let asked = false;
  t.same(capturedDestination(socket, listener(false), () => ((asked = true), undefined)), { refuse: false, dst: undefined }, 'not a capture listener: nothing asked');
  t.notOk(asked);
});

t.test('address:port as the connection manager and RBAC read it', async (t) => {
  t.equal(hostPort({ address: '10.0.0.5', port: 8080 }), '10.0.0.5:8080');
  t.equal(hostPort({ address: 'fd00::5', port: 8080 }), '[fd00::5]:8080');
});
