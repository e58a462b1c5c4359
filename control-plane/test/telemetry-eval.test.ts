/** The exposition parser, the store, and PromQL's rate() and histogram_quantile() against hand-computed values. */
import t from 'tap';
import { parseExposition } from '../src/telemetry/exposition-parser.js';
import { evaluateLocally } from '../src/telemetry/local-traffic-source.js';
import { MetricStore } from '../src/telemetry/metric-store.js';
import { bucketQuantile, extrapolatedRate, matchesAll } from '../src/telemetry/promql-eval.js';
import { eq, ne, quantileQuery, rateQuery, re, sumQuery } from '../src/telemetry/traffic-query.js';

t.test('parser: samples, escapes, special values; bad lines skipped and counted', async (t) => {
  const text = [
    '# HELP istio_requests_total Total requests.',
    '# TYPE istio_requests_total counter',
    'istio_requests_total{reporter="destination",path="a\\"b\\\\c\\nd",empty=""} 42',
    'istio_request_duration_milliseconds_bucket{le="+Inf"} 7 1712345678901',
    'up 1',
    'nan_metric NaN',
    'neg{a="1"} -Inf',
    'sci 1.5e3',
    '',
    'bad{a="1" 3',
    'bad2{a=1} 3',
    '{a="1"} 3',
    'nvalue{a="1"} abc',
    'dup{a="1",a="2"} 1',
  ].join('\n');
  const r = parseExposition(text);
  t.equal(r.samples.length, 6);
  t.same(r.samples[0], { name: 'istio_requests_total', labels: { reporter: 'destination', path: 'a"b\\c\nd', empty: '' }, value: 42 });
  t.equal(r.samples[1].value, 7, 'a timestamp after the value is accepted');
  t.same(r.samples[2], { name: 'up', labels: {}, value: 1 });
  t.ok(Number.isNaN(r.samples[3].value));
  t.equal(r.samples[4].value, -Infinity);
  t.equal(r.samples[5].value, 1500);
  t.equal(r.skipped, 5, 'five bad lines');
  t.match(r.problems[0], /^line 10: /, 'the problem names its line');
  t.match(r.problems.join('\n'), /label a repeated/);
  const only = parseExposition(text, (n) => n.startsWith('istio_'));
  t.equal(only.samples.length, 2, 'the filter keeps istio_* only');
});

t.test('matchers: =, !=, anchored regex', async (t) => {
  const l = { destination_service: 'echo.client.svc.cluster.local', ns: 'client' };
  t.ok(matchesAll(l, [re('destination_service', '^.+\\.client\\..+$')]));
  t.notOk(matchesAll(l, [re('destination_service', 'echo')]), 'regexes are anchored');
  t.ok(matchesAll(l, [ne('absent', 'x'), eq('absent', '')]), 'an absent label is ""');
  t.notOk(matchesAll(l, [ne('ns', 'client')]));
});

t.test('rate(): extrapolation and a counter reset, by hand', async (t) => {
  const s = (x: number[]): number[] => x.map((v) => v * 1000);
  // 1/s from 0 at t=0, samples every 10 s: window (0,60] holds 10..60; the start extrapolates to zero -> exactly 1.
  t.equal(extrapolatedRate(s([0, 10, 20, 30, 40, 50, 60]), [0, 10, 20, 30, 40, 50, 60], 60_000, 60_000), 1);
  // 100 -> 110 -> reset -> 5 -> 15: increase 25 over 30 s sampled; extrapolated by half an interval at the start
  // (30 s to the window start is over 1.1 x 10 s), none at the end: 25 * 35/30 / 60.
  const r = extrapolatedRate(s([10, 20, 30, 40]), [100, 110, 5, 15], 40_000, 60_000)!;
  t.ok(Math.abs(r - (25 * 35) / 30 / 60) < 1e-12, `reset handled (${r})`);
  // Both ends extrapolated by half an interval: samples 20..40 in (0,60]; 20 over 20 s -> 20 * 30/20 / 60 = 0.5.
  t.equal(extrapolatedRate(s([20, 30, 40]), [1000, 1010, 1020], 60_000, 60_000), 0.5);
  t.equal(extrapolatedRate(s([50]), [5], 60_000, 60_000), undefined, 'one sample: no rate');
  t.equal(extrapolatedRate(s([0, 10]), [0, 10], 70_000, 60_000), undefined, 'samples at or before the window start are out (left-open)');
});

t.test('histogram_quantile: linear interpolation inside the bucket', async (t) => {
  const b = [
    { upperBound: 0.5, count: 0 },
    { upperBound: 1, count: 0 },
    { upperBound: 5, count: 2 },
    { upperBound: 10, count: 8 },
    { upperBound: Infinity, count: 10 },
  ];
  t.equal(bucketQuantile(0.5, b), 7.5, 'rank 5 in (5,10]: 5 + 5 * 3/6');
  t.equal(bucketQuantile(0.1, b), 3, 'rank 1 in (1,5]: 1 + 4 * 1/2');
  t.equal(bucketQuantile(0.95, b), 10, 'rank in +Inf: the last finite bound');
  t.ok(Number.isNaN(bucketQuantile(0.5, b.slice(0, 4))), 'no +Inf bucket: NaN');
  t.ok(Number.isNaN(bucketQuantile(0.5, [{ upperBound: 1, count: 0 }, { upperBound: Infinity, count: 0 }])), 'no observations: NaN');
  t.equal(bucketQuantile(0.5, [...b].reverse()), 7.5, 'order does not matter');
});

t.test('the store: sum(rate()) by, histogram_quantile over rates, latest sums, retention', async (t) => {
  const store = new MetricStore({ retentionMs: 120_000 });
  const now = 1_000_000;
  const labels = (reporter: string, code: string) => ({ reporter, response_code: code, destination_workload: 'echo' });
  // Two targets: 1/s and 2/s of 200s, 0.5/s of 503s.
  for (let k = 0; k <= 6; k++) {
    const tSec = now - 60 + k * 10;
    store.ingest('a', [{ name: 'istio_requests_total', labels: labels('destination', '200'), value: k * 10 }], tSec * 1000);
    store.ingest('b', [
      { name: 'istio_requests_total', labels: labels('destination', '200'), value: k * 20 },
      { name: 'istio_requests_total', labels: labels('destination', '503'), value: k * 5 },
      { name: 'istio_requests_total', labels: labels('source', '200'), value: k * 100 },
    ], tSec * 1000);
  }
  const rows = evaluateLocally(store, rateQuery('istio_requests_total', [eq('reporter', 'destination')], 60, ['response_code'], now));
  const by = Object.fromEntries(rows.map((r) => [r.labels.response_code, r.value]));
  t.same(by, { '200': 3, '503': 0.5 }, 'per-series rates summed by response_code');
  t.same(evaluateLocally(store, sumQuery('istio_requests_total', [eq('reporter', 'destination')], ['destination_workload'], now)), [{ labels: { destination_workload: 'echo' }, value: 210 }], 'latest values summed');

  // A histogram: per second, 1 observation <= 1 ms, 3 more <= 5 ms, 1 more <= 10 ms.
  const h = (le: string, perSec: number) => ({ name: 'x_bucket', labels: { le, w: 'echo' }, perSec });
  const buckets = [h('0.5', 0), h('1', 1), h('5', 4), h('10', 5), h('+Inf', 5)];
  for (let tSec = now - 50; tSec <= now; tSec += 10) store.ingest('a', buckets.map((b) => ({ name: b.name, labels: b.labels, value: b.perSec * (tSec - (now - 60)) })), tSec * 1000);
  const p = (q: number) => evaluateLocally(store, quantileQuery(q, 'x_bucket', [], 60, ['w'], now))[0];
  t.same(p(0.5).labels, { w: 'echo' }, 'le is gone from the result');
  t.ok(Math.abs(p(0.5).value - (1 + 4 * (1.5 / 3))) < 1e-9, `p50 = 3 (${p(0.5).value})`);
  t.ok(Math.abs(p(0.95).value - (5 + 5 * (0.75 / 1))) < 1e-9, `p95 = 8.75 (${p(0.95).value})`);

  t.ok(store.seriesCount > 0);
  store.prune(now * 1000 + 10 * 60_000);
  t.equal(store.seriesCount, 0, 'past the retention every series is dropped');
  t.equal(store.pointCount, 0);
});

t.test('the store caps the number of series', async (t) => {
  const store = new MetricStore({ maxSeries: 3 });
  store.ingest('a', [1, 2, 3, 4, 5].map((i) => ({ name: 'istio_x', labels: { i: String(i) }, value: 1 })), 1000);
  t.equal(store.seriesCount, 3);
  t.equal(store.refusedSeries, 2);
});
