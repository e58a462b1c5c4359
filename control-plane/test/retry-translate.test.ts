/**
 * VirtualService `retries` beyond attempts/retryOn/perTryTimeout, translated as Istio's
 * ConvertPolicy does: `retryRemoteLocalities` adds Envoy's previous_priorities retry priority
 * (update_frequency 2), `retryIgnorePreviousHosts: false` drops the previous_hosts predicate
 * that every default policy carries, `backoff` becomes retry_back_off.base_interval. The
 * proxy's compiler takes the result.
 */
import t from 'tap';
import { formatIssue } from '@minimesh/kube';
import type { generateForProxy } from '../src/index.js';
import { API_SERVICE_YAML, generateFromYaml } from './helpers/generate-yaml.js';
import { compileAll } from './helpers/compile.js';

const base = API_SERVICE_YAML;

const vs = (http: string): string => `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: api, namespace: shop }
spec:
  hosts: [api]
  http:
${http}`;

type Obj = Record<string, unknown>;
function routesOf(res: ReturnType<typeof generateForProxy>): Obj[] {
  const rc = res.routes.find((r) => r.name === '8080') as { virtual_hosts: { name: string; routes: Obj[] }[] };
  return rc.virtual_hosts.find((v) => v.name.startsWith('api.shop'))!.routes;
}

const PREVIOUS_HOSTS = { name: 'envoy.retry_host_predicates.previous_hosts', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate' } };
const PREVIOUS_PRIORITIES = {
  name: 'envoy.retry_priorities.previous_priorities',
  typed_config: { '@type': 'type.googleapis.com/envoy.extensions.retry.priority.previous_priorities.v3.PreviousPrioritiesConfig', update_frequency: 2 },
};

t.test('retryRemoteLocalities, retryIgnorePreviousHosts and backoff become the route retry policy', async (t) => {
  const { res, issues } = generateFromYaml(
    base +
      '---\n' +
      vs(`  - match: [{ uri: { prefix: /remote } }]
    retries: { attempts: 3, retryOn: 5xx, retryRemoteLocalities: true }
    route: [{ destination: { host: api } }]
  - match: [{ uri: { prefix: /same-host } }]
    retries: { attempts: 2, retryOn: "503", retryIgnorePreviousHosts: false, backoff: 50ms }
    route: [{ destination: { host: api } }]
  - match: [{ uri: { prefix: /local } }]
    retries: { attempts: 2, retryOn: 5xx, retryRemoteLocalities: false, retryIgnorePreviousHosts: true }
    route: [{ destination: { host: api } }]
`),
  );
  t.same(issues, [], 'validated, no "not translated" warning');
  const [remote, sameHost, local] = routesOf(res).map((r) => (r.route as Obj).retry_policy);
  t.same(remote, { retry_on: '5xx', num_retries: 3, retry_host_predicate: [PREVIOUS_HOSTS], host_selection_retry_max_attempts: '5', retry_priority: PREVIOUS_PRIORITIES });
  t.same(sameHost, { retry_on: 'retriable-status-codes', num_retries: 2, host_selection_retry_max_attempts: '5', retriable_status_codes: [503], retry_back_off: { base_interval: '0.05s' } });
  t.same(local, { retry_on: '5xx', num_retries: 2, retry_host_predicate: [PREVIOUS_HOSTS], host_selection_retry_max_attempts: '5' });

  const compiled = compileAll(res);
  t.same(compiled.errors, [], 'the proxy compiles it');
  const rt = [...compiled.routes.get('8080')!.virtualHosts.find((v) => v.name.startsWith('api.shop'))!.routes];
  const policy = (i: number) => (rt[i].action as { retryPolicy?: { retryPriority?: unknown; avoidPreviousHosts: boolean; baseIntervalMs: number } }).retryPolicy!;
  t.same(policy(0).retryPriority, { kind: 'previous_priorities', updateFrequency: 2 });
  t.equal(policy(0).avoidPreviousHosts, true);
  t.equal(policy(1).avoidPreviousHosts, false);
  t.equal(policy(1).baseIntervalMs, 50);
  t.equal(policy(2).retryPriority, undefined);
});

t.test('bad values are errors that name the field', async (t) => {
  const { issues } = generateFromYaml(
    base +
      '---\n' +
      vs(`  - retries: { attempts: 2, retryRemoteLocalities: "yes", retryIgnorePreviousHosts: 1, backoff: soon }
    route: [{ destination: { host: api } }]
`),
  );
  const text = issues.map((i) => formatIssue(i)).join('\n');
  t.match(text, /retries\.retryRemoteLocalities: must be true or false/);
  t.match(text, /retries\.retryIgnorePreviousHosts: must be true or false/);
  t.match(text, /retries\.backoff: must be a duration/);
});
