/**
 * Until the HTTP/2 pool is wired, a cluster configured for HTTP/2 upstream is accepted, its
 * settings reach the runtime, and the proxy says once per cluster that it still speaks
 * HTTP/1.1 to it (h2-upstream-warning.ts; delete this test with it).
 */
import t from 'tap';
import { log } from '../src/log.js';
import { H2UpstreamWarnings } from '../src/upstream/h2-upstream-warning.js';
import { ok, startTestProxy, startUpstream } from './helpers/harness.js';

const HPO_KEY = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';
const h2Options = (h2: Record<string, unknown>) => ({
  typed_extension_protocol_options: { [HPO_KEY]: { '@type': `type.googleapis.com/${HPO_KEY}`, explicit_http_config: { http2_protocol_options: h2 } } },
});

t.test('a proxy with an h2 cluster starts, carries the settings, and warns once per cluster', async (t) => {
  const lines: string[] = [];
  const orig = log.warn.bind(log);
  (log as { warn: unknown }).warn = (obj: unknown, msg?: string) => {
    lines.push(typeof obj === 'string' ? obj : (msg ?? ''));
  };
  t.teardown(() => {
    (log as { warn: unknown }).warn = orig;
  });
  const up = await startUpstream(t, ok('hello'));
  const p = await startTestProxy(t, {
    routes: [{ match: { prefix: '/' }, route: { cluster: 'grpc' } }],
    clusters: {
      grpc: { endpoints: [up.port], extra: h2Options({ max_concurrent_streams: 5, allow_connect: true }) },
      plain: { endpoints: [up.port] },
    },
  });
  const cfg = p.running.proxy.config!.clusters.get('grpc')!;
  t.equal(cfg.upstreamProtocol, 'http2');
  t.equal(cfg.upstreamHttp2?.maxConcurrentStreams, 5);
  t.equal(cfg.upstreamHttp2?.allowConnect, true);
  t.equal(p.running.proxy.config!.clusters.get('plain')!.upstreamProtocol, 'http1');
  const warned = lines.filter((l) => l.includes('asks for HTTP/2 upstream'));
  t.same(warned, ['cluster grpc asks for HTTP/2 upstream; this proxy build speaks HTTP/1.1 upstream until the h2 pool is wired']);
  const r = await p.request({ path: '/' });
  t.equal(r.status, 200, 'the request still goes through, over HTTP/1.1');
  t.equal(r.body, 'hello');
});

t.test('one warning per cluster name, only for explicit HTTP/2 clusters', async (t) => {
  const got: string[] = [];
  const w = new H2UpstreamWarnings((msg) => got.push(msg));
  const base = { name: 'a', upstreamProtocol: 'http2' } as const;
  t.equal(w.check(base as never), true);
  t.equal(w.check({ ...base } as never), false, 'a new config of the same cluster does not warn again');
  t.equal(w.check({ name: 'b', upstreamProtocol: 'downstream' } as never), false, 'use_downstream_protocol_config: HTTP/1.1 downstream, HTTP/1.1 upstream, as asked');
  t.equal(w.check({ name: 'c', upstreamProtocol: 'http1' } as never), false);
  t.equal(w.check({ name: 'd', upstreamProtocol: 'http2' } as never), true);
  t.same(got, ['cluster a asks for HTTP/2 upstream; this proxy build speaks HTTP/1.1 upstream until the h2 pool is wired', 'cluster d asks for HTTP/2 upstream; this proxy build speaks HTTP/1.1 upstream until the h2 pool is wired']);
});
