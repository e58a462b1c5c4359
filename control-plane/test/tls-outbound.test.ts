/**
 * TLS egress by SNI on sidecars (generate/build-tls-outbound.ts): the `0.0.0.0_443` listener's
 * chains from VirtualService `tls` routes and TLS ServiceEntry hosts, a `tcp` route as the
 * host's fallback, first-claim-wins on server names, and the passthrough chain only under
 * capture with ALLOW_ANY. Every result compiles with the proxy's own compiler.
 */
import t from 'tap';
import { compileAll } from './helpers/compile.js';
import { generateFromYaml } from './helpers/generate-yaml.js';
import type { GenerateOptions } from '../src/index.js';

const se = (name: string, hosts: string, ip: string, resolution = 'STATIC'): string => `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: ${name}, namespace: shop }
spec:
  hosts: [${hosts}]
  location: MESH_EXTERNAL
  ports: [{ number: 443, name: tls, protocol: TLS }]
  resolution: ${resolution}
${resolution === 'STATIC' ? `  endpoints: [{ address: ${ip} }]` : ''}
`;

const base = [se('api', 'api.example.org', '10.1.0.1'), se('backup', 'backup.example.org', '10.1.0.2'), se('mirror', 'mirror.example.org', '10.1.0.3')].join('---\n');
const LOCAL: GenerateOptions = { outboundForwardProxy: true, bindProxyAddress: true };

function chains(extra: string, opts: GenerateOptions = LOCAL) {
  const { res } = generateFromYaml(base + '---\n' + extra, { generate: opts });
  const l = res.listeners.find((x) => x.name === '0.0.0.0_443') as { filter_chains: { filter_chain_match?: { server_names: string[] }; filters: { typed_config: { cluster?: string; weighted_clusters?: { clusters: { name: string; weight: number }[] } } }[] }[] } | undefined;
  const summary = (l?.filter_chains ?? []).map((c) => {
    const tp = c.filters.at(-1)!.typed_config;
    return [c.filter_chain_match?.server_names.join(',') ?? '*', tp.cluster ?? tp.weighted_clusters!.clusters.map((w) => `${w.name}=${w.weight}`).join(' ')];
  });
  return { res, listener: l, summary, errors: compileAll(res).errors };
}

t.test('no VirtualService: a chain per TLS host to its own cluster; none for resolution NONE in the local mesh', async (t) => {
  const { summary, errors, listener } = chains(se('wild', '"*.wikipedia.org"', '', 'NONE'));
  t.same(errors, []);
  t.same((listener as unknown as { bind_to_port: boolean }).bind_to_port, false);
  t.same(summary, [
    ['api.example.org', 'outbound|443||api.example.org'],
    ['backup.example.org', 'outbound|443||backup.example.org'],
    ['mirror.example.org', 'outbound|443||mirror.example.org'],
  ]);
  const cap = chains(se('wild', '"*.wikipedia.org"', '', 'NONE'), { captureMode: true });
  t.same(cap.errors, []);
  t.ok(cap.summary.some(([n, c]) => n === '*.wikipedia.org' && c === 'outbound|443||*.wikipedia.org'), 'under capture the wildcard (ORIGINAL_DST) host gets its chain');
  t.same(cap.summary.at(-1), ['*', 'PassthroughCluster'], 'then the passthrough chain (ALLOW_ANY)');
});

t.test("tls routes: first claim wins, other ports ignored, tcp routes as the host's fallback", async (t) => {
  const vs = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: by-sni, namespace: shop }
spec:
  hosts: [api.example.org]
  tls:
  - match: [{ port: 443, sniHosts: [api.example.org] }]
    route: [{ destination: { host: backup.example.org, port: { number: 443 } } }]
  - match: [{ port: 443, sniHosts: [api.example.org] }]
    route: [{ destination: { host: mirror.example.org, port: { number: 443 } } }]
  - match: [{ port: 8443, sniHosts: [other.example.org] }]
    route: [{ destination: { host: mirror.example.org, port: { number: 443 } } }]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: mirror-tcp, namespace: shop }
spec:
  hosts: [mirror.example.org]
  tcp:
  - route:
    - { destination: { host: mirror.example.org, port: { number: 443 } }, weight: 50 }
    - { destination: { host: backup.example.org, port: { number: 443 } }, weight: 50 }
`;
  const { summary, errors, res } = chains(vs);
  t.same(errors, []);
  t.same(summary, [
    ['api.example.org', 'outbound|443||backup.example.org'],
    ['backup.example.org', 'outbound|443||backup.example.org'],
    ['mirror.example.org', 'outbound|443||mirror.example.org=50 outbound|443||backup.example.org=50'],
  ]);
  t.ok(res.warnings.some((w) => w.includes('by-sni tls[1].match[0]') && w.includes('already claimed')), res.warnings.join(' | '));
});

t.test('REGISTRY_ONLY under capture: no passthrough chain (an unknown SNI is closed)', async (t) => {
  const sc = `apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: { name: default, namespace: shop }
spec: { outboundTrafficPolicy: { mode: REGISTRY_ONLY } }
`;
  const { summary, errors } = chains(sc, { captureMode: true });
  t.same(errors, []);
  t.notOk(summary.some(([n]) => n === '*'));
});
