/**
 * Listeners with `bind_to_port: false` (Istio's `0.0.0.0_443` SNI chains): compiled only on a
 * listener with filter chain matching; found by original destination (exact address, then the
 * wildcard); the capture listener hands a connection to the one of its original destination's
 * port, after a service address named in `tcp_clusters` (Envoy matches destination IPs before
 * SNI). The CONNECT path and the chains themselves run end to end in
 * packages/cli/test/local-mesh-tls-egress.test.ts.
 */
import t from 'tap';
import net from 'node:net';
import { once } from 'node:events';
import { parseBootstrap } from '@minimesh/api';
import { compileBootstrap } from '@minimesh/config';
import { handleCapturedTo, type CaptureHost } from '../src/capture/capture-connection.js';
import { findVirtualListener, type VirtualListener } from '../src/tcp/virtual-listener.js';
import { authorityDst } from '../src/http/connect-terminate.js';
import type { OriginalDst } from '../src/capture/original-dst.js';

const TCP = `
      - name: envoy.filters.network.tcp_proxy
        typed_config: { "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy, stat_prefix: t, cluster: c }`;

function compile(listener: string): string[] | { bindToPort?: false } {
  const p = parseBootstrap(
    `
static_resources:
  listeners:
  - name: 0.0.0.0_443
    address: { socket_address: { address: 0.0.0.0, port_value: 443 } }
${listener}
  clusters:
  - name: c
    load_assignment: { endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: 2 } } } }] }] }
`,
    'b.yaml',
  );
  if (!p.ok) return p.errors.map((e) => JSON.stringify(e));
  const c = compileBootstrap(p.value);
  return c.ok ? c.value.listeners[0]! : c.errors.map((e) => `${e.path}: ${e.message}`);
}

t.test('bind_to_port: false compiles on a listener with SNI chains, and only there', async (t) => {
  const sni = compile(`    bind_to_port: false
    listener_filters: [{ name: envoy.filters.listener.tls_inspector, typed_config: { "@type": type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector } }]
    filter_chains:
    - filter_chain_match: { server_names: [www.example.org] }
      filters:${TCP}
    - filters:${TCP}`);
  t.notOk(Array.isArray(sni), `compiles (${Array.isArray(sni) ? sni.join('; ') : 'ok'})`);
  t.equal((sni as { bindToPort?: false }).bindToPort, false, 'bindToPort: false in the runtime listener');
  const bound = compile(`    filter_chains:
    - filter_chain_match: { server_names: [www.example.org] }
      filters:${TCP}`);
  t.equal((bound as { bindToPort?: false }).bindToPort, undefined, 'absent: bound as before');
  const plain = compile(`    bind_to_port: false
    filter_chains:
    - filters:${TCP}`);
  t.ok(Array.isArray(plain) && plain.some((e) => e.includes('bind_to_port') && e.includes('filter chain matching')), `a one-chain listener is refused with a reason: ${JSON.stringify(plain)}`);
});

t.test('findVirtualListener: the exact address, then the wildcard; bound listeners never', async (t) => {
  const l = (address: string, port: number, bindToPort?: false) => ({ config: { address, port, ...(bindToPort === false ? { bindToPort } : {}) } });
  const wild = l('0.0.0.0', 443, false);
  const exact = l('10.0.0.7', 443, false);
  const bound = l('10.0.0.8', 443);
  t.equal(findVirtualListener([wild, exact, bound], '10.0.0.7', 443), exact);
  t.equal(findVirtualListener([wild, exact, bound], '10.0.0.8', 443), wild, 'a bound listener of that address is not a virtual one');
  t.equal(findVirtualListener([wild, exact], 'www.example.org', 443), wild, 'a CONNECT authority names no address: the wildcard');
  t.equal(findVirtualListener([wild, exact], '10.0.0.7', 8443), undefined);
});

t.test('authorityDst: a CONNECT authority as an original destination', async (t) => {
  t.same(authorityDst('WWW.example.org:443'), { address: 'www.example.org', port: 443 });
  t.same(authorityDst('[fd00::1]:443'), { address: 'fd00::1', port: 443 });
  t.equal(authorityDst('www.example.org'), undefined, 'no port');
  t.equal(authorityDst('www.example.org:99999'), undefined);
});

function fakeHost(virtual: VirtualListener | undefined, tcpClusters: Map<string, string> = new Map()): CaptureHost {
  return {
    config: { port: 15001, capture: { direction: 'OUTBOUND', tcpPorts: new Set<number>([443]), tcpClusters } },
    ctx: { clusters: new Map(), hcm: { routeConfig: { virtualHosts: [] } } },
    stats: undefined,
    adoptHttp: () => undefined,
    trackTcp: () => undefined,
    virtualListener: (address: string, port: number) => (port === 443 ? virtual : undefined),
  } as unknown as CaptureHost;
}

t.test('capture: a connection to port 443 is handed to the virtual listener with its original destination', async (t) => {
  const handed: OriginalDst[] = [];
  const virtual: VirtualListener = {
    handoff: (socket, dst) => {
      handed.push(dst);
      socket.end('handed');
    },
  };
  const srv = net.createServer((s) => handleCapturedTo(s, fakeHost(virtual), { address: '93.184.216.34', port: 443 }));
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  t.teardown(() => srv.close());
  const c = net.connect((srv.address() as net.AddressInfo).port, '127.0.0.1');
  let out = '';
  c.on('data', (d: Buffer) => (out += d.toString()));
  await once(c, 'close');
  t.equal(out, 'handed');
  t.same(handed, [{ address: '93.184.216.34', port: 443 }], 'the original destination goes with it');
});
