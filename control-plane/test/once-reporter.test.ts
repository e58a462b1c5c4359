import t from 'tap';
import { OnceReporter } from '../src/server/analyze-line.js';

t.test('each line once while it holds; a resolved line is announced when asked', async (t) => {
  const out: string[] = [];
  const r = new OnceReporter((l) => out.push(l));
  const missing = 'Error [IST0101] (Gateway default/httpbin-gateway) Referenced selector not found: "istio=ingressgateway"';
  r.report('analysis', [missing], 'Resolved: ');
  r.report('analysis', [missing], 'Resolved: ');
  t.same(out, [missing], 'printed once while it holds');
  r.report('analysis', [], 'Resolved: ');
  t.same(out, [missing, `Resolved: ${missing}`], 'the gateway pod registered: the finding is withdrawn in the log');
  r.report('analysis', [missing], 'Resolved: ');
  t.equal(out.length, 3, 'and printed again if it comes back');
  r.report('source', ['a'], undefined);
  r.report('source', [], undefined);
  t.equal(out.at(-1), 'a', 'without a prefix, a line that goes away is not announced');
});
