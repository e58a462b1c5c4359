/**
 * `minimesh analyze --use-kube=false` on Istio's Bookinfo samples (../shared/testdata): the
 * gateway finds the default ingress gateway, every route finds its host and subset once the
 * DestinationRules are in, and the subsets with no workload in bookinfo.yaml are reported.
 */
import t from 'tap';
import { BOOKINFO, bookinfoSkip } from './helpers/fixtures.js';
import { runAnalyze } from './helpers/run-analyze.js';

const subsetLine = (dr: string, line: number, subset: string): string =>
  `Error [IST0173] (DestinationRule default/${dr} networking/destination-rule-all.yaml:${line}) The Subset ${subset} defined in the DestinationRule does not select any pods. Which may lead to 503 UH (NoHealthyUpstream).`;

t.test('Bookinfo with its gateway, destination rules and v1 routes', { skip: bookinfoSkip(t) }, async (t) => {
  const files = ['platform/bookinfo.yaml', 'networking/bookinfo-gateway.yaml', 'networking/destination-rule-all.yaml', 'networking/virtual-service-all-v1.yaml'];
  const r = await runAnalyze(['--use-kube=false', ...files], { cwd: BOOKINFO });
  t.equal(
    r.stdout,
    [subsetLine('details', 49, 'v2'), subsetLine('ratings', 29, 'v2'), subsetLine('ratings', 29, 'v2-mysql'), subsetLine('ratings', 29, 'v2-mysql-vm'), ''].join('\n'),
    'only the subsets without a workload (bookinfo.yaml deploys reviews v1-v3, the others v1)',
  );
  t.equal(r.code, 79);
});

t.test('Bookinfo routes to subsets without their DestinationRules', { skip: bookinfoSkip(t) }, async (t) => {
  const r = await runAnalyze(['--use-kube=false', 'platform/bookinfo.yaml', 'networking/virtual-service-all-v1.yaml'], { cwd: BOOKINFO });
  const lines = r.stdout.trim().split('\n');
  t.same(
    lines.map((l) => /\(VirtualService default\/(\w+) .*"(\w+\+v1)"$/.exec(l)?.slice(1)),
    [
      ['details', 'details+v1'],
      ['productpage', 'productpage+v1'],
      ['ratings', 'ratings+v1'],
      ['reviews', 'reviews+v1'],
    ],
  );
  t.ok(lines.every((l) => l.startsWith('Error [IST0101]') && l.includes('Referenced host+subset in destinationrule not found')));
});
