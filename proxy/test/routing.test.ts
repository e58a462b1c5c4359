/** Routing through the proxy: virtual hosts, route matches, weights, rewrites, local actions, header mutations. */
import t from 'tap';
import http from 'node:http';
import { ok, request, route, startTestProxy, startUpstream, type Upstream } from './helpers/harness.js';

/** Upstreams that each answer their own name. */
async function named(tt: Parameters<typeof startUpstream>[0], names: string[]): Promise<Record<string, Upstream>> {
  const out: Record<string, Upstream> = {};
  for (const n of names) out[n] = await startUpstream(tt, ok(n));
  return out;
}

t.test('virtual host is chosen by Host: exact (port ignored), *.suffix, then *', async (t) => {
  const up = await named(t, ['exact', 'wild', 'star']);
  const p = await startTestProxy(t, {
    virtualHosts: [
      { name: 'star', domains: ['*'], routes: [route('/', 'star')] },
      { name: 'wild', domains: ['*.example.com'], routes: [route('/', 'wild')] },
      { name: 'exact', domains: ['api.example.com'], routes: [route('/', 'exact')] },
    ],
    clusters: { exact: [up.exact.port], wild: [up.wild.port], star: [up.star.port] },
  });
  const cases: [string, string][] = [
    ['api.example.com', 'exact'],
    ['api.example.com:8080', 'exact'],
    ['API.Example.COM', 'exact'],
    ['www.example.com', 'wild'],
    ['a.b.example.com:9', 'wild'],
    ['example.com', 'star'],
    ['other.org', 'star'],
  ];
  for (const [host, want] of cases) {
    const r = await p.request({ headers: { host } });
    t.equal(r.body, want, `Host ${host} -> ${want}`);
  }
});

t.test('route matches choose clusters: prefix, path, regex, header, query, method; first match wins', async (t) => {
  const names = ['prefix', 'path', 'regex', 'header', 'query', 'method', 'fallback'];
  const up = await named(t, names);
  const p = await startTestProxy(t, {
    routes: [
      { match: { path: '/exact' }, route: { cluster: 'path' } },
      { match: { safe_regex: { regex: '^/items/[0-9]+$' } }, route: { cluster: 'regex' } },
      { match: { prefix: '/', headers: [{ name: 'x-canary', string_match: { exact: 'yes' } }] }, route: { cluster: 'header' } },
      { match: { prefix: '/', query_parameters: [{ name: 'v', string_match: { exact: '2' } }] }, route: { cluster: 'query' } },
      { match: { prefix: '/', headers: [{ name: ':method', string_match: { exact: 'DELETE' } }] }, route: { cluster: 'method' } },
      { match: { prefix: '/api/' }, route: { cluster: 'prefix' } },
      { match: { prefix: '/' }, route: { cluster: 'fallback' } },
    ],
    clusters: Object.fromEntries(names.map((n) => [n, [up[n].port]])),
  });
  const cases: { path: string; method?: string; headers?: Record<string, string>; want: string }[] = [
    { path: '/exact', want: 'path' },
    { path: '/exact/more', want: 'fallback' },
    { path: '/exact?x=1', want: 'path' },
    { path: '/items/42', want: 'regex' },
    { path: '/items/abc', want: 'fallback' },
    { path: '/anything', headers: { 'x-canary': 'yes' }, want: 'header' },
    { path: '/anything', headers: { 'x-canary': 'no' }, want: 'fallback' },
    { path: '/anything?v=2', want: 'query' },
    { path: '/anything?v=3', want: 'fallback' },
    { path: '/anything', method: 'DELETE', want: 'method' },
    { path: '/api/users', want: 'prefix' },
    { path: '/apix', want: 'fallback' },
  ];
  for (const c of cases) {
    const r = await p.request({ path: c.path, method: c.method, headers: c.headers });
    t.equal(r.body, c.want, `${c.method ?? 'GET'} ${c.path} ${JSON.stringify(c.headers ?? {})} -> ${c.want}`);
  }
});

t.test('weighted clusters split traffic 80/20 (1000 requests, within 5 points)', async (t) => {
  const up = await named(t, ['v1', 'v2']);
  const p = await startTestProxy(t, {
    routes: [{ match: { prefix: '/' }, route: { weighted_clusters: { clusters: [{ name: 'v1', weight: 80 }, { name: 'v2', weight: 20 }] } } }],
    clusters: { v1: [up.v1.port], v2: [up.v2.port] },
    accessLog: false,
  });
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  t.teardown(() => agent.destroy());
  const counts: Record<string, number> = { v1: 0, v2: 0 };
  const N = 1000;
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < N) {
        next++;
        const r = await p.request({ agent });
        counts[r.body]++;
      }
    }),
  );
  t.equal(counts.v1 + counts.v2, N, 'every request answered by v1 or v2');
  t.ok(Math.abs(counts.v1 / N - 0.8) < 0.05, `v1 got ${counts.v1} of ${N}`);
  t.equal(up.v1.requests.length, counts.v1, 'upstream v1 saw exactly its share');
});

t.test('prefix_rewrite rewrites the path and sends x-envoy-original-path', async (t) => {
  const up = await startUpstream(t);
  const p = await startTestProxy(t, { routes: [route('/old/', 'c', { prefix_rewrite: '/new/' })], clusters: { c: [up.port] } });
  const r = await p.request({ path: '/old/a/b?q=1' });
  t.equal(r.status, 200);
  t.equal(up.requests[0].path, '/new/a/b?q=1');
  t.equal(up.requests[0].headers['x-envoy-original-path'], '/old/a/b?q=1');
  const log = await p.accessLog(1);
  t.equal(log[0].path, '/old/a/b?q=1', 'access log shows the original path');
});

t.test('x-envoy-original-path from the client is not forwarded as is when a rewrite applies', async (t) => {
  const up = await startUpstream(t);
  const p = await startTestProxy(t, { routes: [route('/old/', 'c', { prefix_rewrite: '/new/' })], clusters: { c: [up.port] } });
  await p.request({ path: '/old/x', headers: { 'x-envoy-original-path': '/forged' } });
  t.equal(up.requests[0].headers['x-envoy-original-path'], '/old/x');
});

t.test('host_rewrite_literal replaces Host upstream', async (t) => {
  const up = await startUpstream(t);
  const p = await startTestProxy(t, { routes: [route('/', 'c', { host_rewrite_literal: 'backend.internal' })], clusters: { c: [up.port] } });
  await p.request({ headers: { host: 'front.example.com' } });
  t.equal(up.requests[0].headers.host, 'backend.internal');
  t.equal(up.requests[0].headerNames.filter((n) => n === 'host').length, 1, 'exactly one Host');
});

t.test('redirect answers locally with Location and the configured status', async (t) => {
  const up = await startUpstream(t);
  const p = await startTestProxy(t, {
    routes: [
      { match: { prefix: '/moved' }, redirect: { path_redirect: '/new-home', response_code: 'FOUND' } },
      { match: { prefix: '/secure' }, redirect: { https_redirect: true } },
      { match: { prefix: '/host' }, redirect: { host_redirect: 'other.example.com', response_code: 'TEMPORARY_REDIRECT' } },
    ],
    clusters: { c: [up.port] },
  });
  const cases: [string, number, string][] = [
    ['/moved?a=1', 302, 'http://h.example.com/new-home?a=1'],
    ['/secure/x', 301, 'https://h.example.com/secure/x'],
    ['/host/y', 307, 'http://other.example.com/host/y'],
  ];
  for (const [path, code, loc] of cases) {
    const r = await p.request({ path, headers: { host: 'h.example.com' } });
    t.equal(r.status, code, `${path} status`);
    t.equal(r.headers.location, loc, `${path} location`);
    t.notOk(r.headers['x-envoy-upstream-service-time'], 'no upstream service time on a redirect');
  }
  t.equal(up.requests.length, 0, 'upstream never called');
});

t.test('direct_response answers with its status and body', async (t) => {
  const p = await startTestProxy(t, {
    routes: [
      { match: { prefix: '/teapot' }, direct_response: { status: 418, body: { inline_string: 'short and stout' } } },
      { match: { prefix: '/empty' }, direct_response: { status: 204 } },
    ],
  });
  const r = await p.request({ path: '/teapot' });
  t.equal(r.status, 418);
  t.equal(r.body, 'short and stout');
  const e = await p.request({ path: '/empty' });
  t.equal(e.status, 204);
  t.equal(e.body, '');
});

t.test('request and response headers: add, overwrite, remove at each level', async (t) => {
  const up = await startUpstream(t, ok('x', { 'x-secret': 's', 'x-resp-keep': 'k', 'x-resp-over': 'upstream' }));
  const p = await startTestProxy(t, {
    routeConfig: {
      request_headers_to_add: [{ header: { key: 'x-rc', value: 'rc' } }],
      response_headers_to_remove: ['x-secret'],
    },
    virtualHosts: [
      {
        name: 'vh',
        domains: ['*'],
        request_headers_to_add: [{ header: { key: 'x-vh', value: 'vh' } }],
        response_headers_to_add: [{ header: { key: 'x-resp-over', value: 'proxy' }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' }],
        routes: [
          route(
            '/',
            'c',
            {},
            {
              request_headers_to_add: [
                { header: { key: 'x-route', value: 'r1' } },
                { header: { key: 'x-over', value: 'proxy' }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' },
                { header: { key: 'x-absent', value: 'proxy' }, append_action: 'ADD_IF_ABSENT' },
              ],
              request_headers_to_remove: ['x-drop'],
              response_headers_to_add: [{ header: { key: 'x-resp-added', value: 'yes' } }],
            },
          ),
        ],
      },
    ],
    clusters: { c: [up.port] },
  });
  const r = await p.request({ headers: { 'x-over': 'client', 'x-absent': 'client', 'x-drop': 'bye', 'x-keep': 'k' } });
  const h = up.requests[0].headers;
  t.equal(h['x-rc'], 'rc', 'route configuration level added');
  t.equal(h['x-vh'], 'vh', 'virtual host level added');
  t.equal(h['x-route'], 'r1', 'route level added');
  t.equal(h['x-over'], 'proxy', 'OVERWRITE_IF_EXISTS_OR_ADD replaced the client value');
  t.equal(h['x-absent'], 'client', 'ADD_IF_ABSENT kept the client value');
  t.notOk('x-drop' in h, 'removed header not forwarded');
  t.equal(h['x-keep'], 'k', 'other headers kept');
  t.notOk('x-secret' in r.headers, 'response header removed');
  t.equal(r.headers['x-resp-keep'], 'k');
  t.equal(r.headers['x-resp-over'], 'proxy');
  t.equal(r.headers['x-resp-added'], 'yes');
});

t.test('a weighted cluster\'s host_rewrite_literal wins over the route\'s', async (t) => {
  const up = await startUpstream(t);
  const p = await startTestProxy(t, {
    routes: [{ match: { prefix: '/' }, route: { host_rewrite_literal: 'route.internal', weighted_clusters: { clusters: [{ name: 'c', weight: 100, host_rewrite_literal: 'weighted.internal' }] } } }],
    clusters: { c: [up.port] },
  });
  const r = await p.request({ path: '/', headers: { host: 'client.example' } });
  t.equal(r.status, 200);
  t.equal(up.requests[0].headers.host, 'weighted.internal');
});
