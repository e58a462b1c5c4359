/**
 * `minimesh analyze` as a command: the labs' own manifests, exit codes and thresholds, the
 * json and yaml shapes, suppressions, bad flags, and the live cluster (a fake API).
 */
import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { KubeApiError } from '../src/sources/kube-get.js';
import { REPO_ROOT, SOURCE_TEST_DIR } from './helpers/fixtures.js';
import { runAnalyze } from './helpers/run-analyze.js';

const CASES = path.join(SOURCE_TEST_DIR, 'analyze');
const files = (code: string): string[] => [path.join(CASES, code, 'input.yaml')];

t.test("the labs' manifests are clean", async (t) => {
  for (const example of ['echo', 'microservices']) {
    const dir = path.join('examples', example, 'k8s');
    const r = await runAnalyze(['--use-kube=false', '-A', dir], { cwd: REPO_ROOT });
    const listed = fs.readdirSync(path.join(REPO_ROOT, dir)).sort().map((f) => `  - ${path.join(dir, f)}`);
    t.equal(r.stdout, '\n', `${example}: nothing on stdout but the newline`);
    t.equal(r.stderr, `\u2714 No validation issues found when analyzing:\n${listed.join('\n')}\n`, `${example}: the success note lists the files`);
    // Without their injection label, the namespace is reported (echo's lives in `client`).
    const unlabelled = fs.mkdtempSync(path.join(os.tmpdir(), 'analyze-'));
    for (const f of fs.readdirSync(path.join(REPO_ROOT, dir))) fs.writeFileSync(path.join(unlabelled, f), fs.readFileSync(path.join(REPO_ROOT, dir, f), 'utf8').replace(/\n  labels:\n    istio-injection: enabled\n/, '\n'));
    const ns = example === 'echo' ? 'client' : 'default';
    const u = await runAnalyze(['--use-kube=false', '-A', unlabelled]);
    t.match(u.stdout, new RegExp(`^Info \\[IST0102\\] \\(Namespace ${ns} .*namespace\\.yaml:\\d+\\) The namespace is not enabled for Istio injection\\. Run 'kubectl label namespace ${ns} istio-injection=enabled'`));
    t.equal(u.code, 0, 'Info: exit 0');
    t.equal(r.code, 0);
  }
  const one = await runAnalyze(['--use-kube=false', '-f', 'examples/echo/k8s/backend.yaml'], { cwd: REPO_ROOT });
  t.equal(one.stderr, '\u2714 No validation issues found when analyzing examples/echo/k8s/backend.yaml.\n');
});

t.test('failure and output thresholds', async (t) => {
  const info = await runAnalyze(['--use-kube=false', ...files('IST0118')]);
  t.equal(info.code, 0, 'Info only: exit 0 by default (threshold Error)');
  t.equal((await runAnalyze(['--use-kube=false', '--failure-threshold', 'Info', ...files('IST0118')])).code, 79);
  t.equal((await runAnalyze(['--use-kube=false', '--failure-threshold=warning', ...files('IST0118')])).code, 0, 'levels are case-insensitive');
  const warn = await runAnalyze(['--use-kube=false', ...files('IST0103')]);
  t.equal(warn.code, 0, 'Warning only: exit 0 by default');
  t.equal((await runAnalyze(['--use-kube=false', '--failure-threshold', 'Warning', ...files('IST0103')])).code, 79);
  const err = await runAnalyze(['--use-kube=false', ...files('IST0101')]);
  t.equal(err.code, 79);
  t.match(err.stderr, /^Error: Analyzers found issues when analyzing namespace: default\.\nSee https:\/\/istio\.io\/v1\.\d+\/docs\/reference\/config\/analysis for more information about causes and resolutions\.\n$/);
  const hidden = await runAnalyze(['--use-kube=false', '--output-threshold', 'Warning', ...files('IST0118')]);
  t.equal(hidden.stdout, '\n', 'Info lines hidden');
  t.match(hidden.stderr, /No validation issues found/);
  const shownButFailing = await runAnalyze(['--use-kube=false', '--output-threshold', 'Error', '--failure-threshold', 'Info', ...files('IST0118')]);
  t.equal(shownButFailing.stdout, '\n');
  t.equal(shownButFailing.code, 79, 'the exit code counts messages the output threshold hides');
});

t.test('-o json and -o yaml', async (t) => {
  const r = await runAnalyze(['--use-kube=false', '-o', 'json', ...files('IST0103')]);
  t.equal(r.code, 0, 'no exit code outside the log format');
  t.match(r.stdout, /^\[\n\t\{\n\t\t"code": "IST0103",/, 'tab-indented array');
  const parsed = JSON.parse(r.stdout) as Record<string, string>[];
  t.equal(parsed.length, 1);
  t.same(Object.keys(parsed[0]!), ['code', 'documentationUrl', 'level', 'message', 'origin', 'reference']);
  t.equal(parsed[0]!.level, 'Warning');
  t.equal(parsed[0]!.origin, 'Pod default/kafka-0');
  t.match(parsed[0]!.reference, /input\.yaml:\d+$/);
  t.match(parsed[0]!.documentationUrl, /\/analysis\/ist0103\/\?ref=istioctl-analyze$/);
  const failing = await runAnalyze(['--use-kube=false', '-o', 'json', ...files('IST0101')]);
  t.equal(failing.code, 0, 'errors do not set the exit code with -o json');
  const y = await runAnalyze(['--use-kube=false', '-o', 'yaml', ...files('IST0103')]);
  t.same(YAML.parse(y.stdout), parsed);
  const none = await runAnalyze(['--use-kube=false', '-o', 'json', ...files('clean')]);
  t.equal(none.stdout, '[]\n');
});

t.test('--suppress', async (t) => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'analyze-'));
  const annotated = fs.readFileSync(files('IST0103')[0]!, 'utf8').replace('  name: kafka-0\n', '  name: kafka-0\n  annotations:\n    galley.istio.io/analyze-suppress: IST0118,IST0103\n');
  fs.writeFileSync(path.join(tmp, 'pods.yaml'), annotated);
  t.equal((await runAnalyze(['--use-kube=false', tmp])).stdout, '\n', 'the resource suppresses its own message by annotation');
  const legacy = await runAnalyze(['--use-kube=false', '-S', 'IST0103=Pod kafka-0.default', ...files('IST0103')]);
  t.equal(legacy.stdout, '\n', 'Kind name.namespace');
  const wildcard = await runAnalyze(['--use-kube=false', '--suppress', 'IST0118=Service kafka-*', ...files('IST0118')]);
  t.equal(wildcard.stdout.trim().split('\n').length, 1, 'only the unnamed port is left');
  t.match(wildcard.stdout, /Service default\/unnamed/);
  const other = await runAnalyze(['--use-kube=false', '-S', 'IST0102=Pod kafka-0.default', ...files('IST0103')]);
  t.match(other.stdout, /IST0103/, 'another code suppresses nothing');
  const unknown = await runAnalyze(['--use-kube=false', '-S', 'IST9999=Pod x.default', ...files('clean')]);
  t.match(unknown.stderr, /^Warning: Supplied message code 'IST9999' is an unknown message code and will not have any effect\.\n/);
  const bad = await runAnalyze(['--use-kube=false', '-S', 'IST0103', ...files('clean')]);
  t.equal(bad.code, 1);
  t.match(bad.stderr, /IST0103 is not a valid suppression value/);
});

t.test('bad flags and inputs', async (t) => {
  const format = await runAnalyze(['--use-kube=false', '-o', 'table', ...files('clean')]);
  t.equal(format.code, 64);
  t.equal(format.stderr, 'Error: table not a valid option for format. See minimesh analyze --help\n');
  const level = await runAnalyze(['--use-kube=false', '--failure-threshold', 'Fatal', ...files('clean')]);
  t.equal(level.code, 1);
  t.match(level.stderr, /invalid argument "Fatal" for "--failure-threshold" flag: invalid level option/);
  const flag = await runAnalyze(['--use-kube=false', '--bogus']);
  t.equal(flag.code, 1);
  t.match(flag.stderr, /^Error: unknown flag: --bogus/);
  const missing = await runAnalyze(['--use-kube=false', 'no-such.yaml']);
  t.equal(missing.code, 1);
  t.equal(missing.stderr, 'Error: stat no-such.yaml: no such file or directory\n');
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'analyze-'));
  fs.writeFileSync(path.join(tmp, 'bad.yaml'), 'kind: [unclosed\n');
  fs.writeFileSync(path.join(tmp, 'notes.txt'), 'not yaml');
  const parse = await runAnalyze(['--use-kube=false', tmp]);
  t.equal(parse.code, 65, 'a file that is not YAML');
  t.match(parse.stderr, /Skipping file .*notes\.txt, recognized file extensions are: \[\.json \.yaml \.yml\]/);
  t.match(parse.stderr, /Error\(s\) adding files: .*bad\.yaml/);
  t.match(parse.stderr, /\(but 1 file could not be parsed\)/);
  t.equal((await runAnalyze(['--use-kube=false', '--ignore-unknown', tmp])).code, 0);
  const help = await runAnalyze(['--help']);
  t.equal(help.code, 0);
  t.match(help.stdout, /--failure-threshold/);
});

t.test('--color', async (t) => {
  const on = await runAnalyze(['--use-kube=false', '--color', ...files('IST0103'), ...files('IST0101')]);
  t.match(on.stdout, /^\x1b\[1;31mError\x1b\[0m \[IST0101\] /, 'Error bold red');
  t.match(on.stdout, /\n\x1b\[33mWarning\x1b\[0m \[IST0103\] /, 'Warning yellow');
  const info = await runAnalyze(['--use-kube=true', '--color=true', ...files('IST0118')], { kubeGet: async () => ({ items: [] }) });
  t.match(info.stdout, /^Info \[IST0118\]/m, 'Info plain');
  const off = await runAnalyze(['--use-kube=false', '--color=false', ...files('IST0103')]);
  t.notMatch(off.stdout, /\x1b/);
});

t.test('-L lists the analyzers', async (t) => {
  const r = await runAnalyze(['-L']);
  t.equal(r.code, 0);
  t.match(r.stdout, /^\* annotations\.K8sAnalyzer:\n    Checks for misplaced and invalid Istio annotations in Kubernetes resources\n\* applicationUID\.Analyzer:\n    Checks invalid application UID\n/);
  t.match(r.stdout, /\* service\.PortNameAnalyzer:\n/);
  for (const name of ['destinationrule.CaCertificateAnalyzer', 'gateway.ConflictingGatewayAnalyzer']) t.match(r.stdout, `* ${name}:\n`, `lists ${name}`);
});

t.test('recursive folders, stdin and -n', async (t) => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'analyze-'));
  fs.mkdirSync(path.join(tmp, 'sub'));
  fs.copyFileSync(files('IST0144')[0]!, path.join(tmp, 'sub', 'uid.yaml'));
  t.equal((await runAnalyze(['--use-kube=false', tmp])).stdout, '\n', 'sub-folders only with -R');
  t.match((await runAnalyze(['--use-kube=false', '-R', tmp])).stdout, /IST0144/);
  const stdin = await runAnalyze(['--use-kube=false', '-'], { stdin: fs.readFileSync(files('IST0144')[0]!, 'utf8') });
  t.match(stdin.stdout, /\(Deployment default\/web -:\d+\)/);
  const ns = await runAnalyze(['--use-kube=false', '-n', 'shop', ...files('IST0144')]);
  t.match(ns.stdout, /\(Deployment shop\/web /, 'resources without a namespace land in -n');
});

/** A fake API server: lab-09's cluster after `kubectl apply`, pods of stateful sets without a sidecar. */
function labCluster(): (p: string) => Promise<unknown> {
  const ns = (name: string, labels?: Record<string, string>) => ({ metadata: { name, labels } });
  const pod = (name: string, labels: Record<string, string>, containers: string[]) => ({
    metadata: { name, namespace: 'default', labels },
    spec: { containers: containers.map((c) => ({ name: c, image: c })) },
  });
  const zkPorts = [
    { name: 'tcp-client', port: 2181, targetPort: 'client', protocol: 'TCP' },
    { name: 'follower', port: 2888, targetPort: 'follower', protocol: 'TCP' },
    { name: 'tcp-election', port: 3888, targetPort: 'election', protocol: 'TCP' },
  ];
  const lists: Record<string, unknown[]> = {
    '/api/v1/namespaces': [ns('default', { 'istio-injection': 'enabled' }), ns('kube-system'), ns('istio-system')],
    '/api/v1/pods': [
      pod('customer-deployment-5c8f-abcde', { app: 'customer' }, ['customer-ms', 'istio-proxy']),
      pod('customer-mongodb-66f78bcc7f-ps9l7', { app: 'mongodb' }, ['mongodb']),
      pod('kafka-0', { app: 'kafka' }, ['kafka']),
      pod('kafka-zookeeper-0', { app: 'zookeeper' }, ['zookeeper']),
      pod('order-postgres-0', { app: 'postgres' }, ['postgres']),
      { metadata: { name: 'istio-ingressgateway-1', namespace: 'istio-system', labels: { istio: 'ingressgateway' } }, spec: { containers: [{ name: 'istio-proxy' }] } },
      { metadata: { name: 'coredns-1', namespace: 'kube-system' }, spec: { containers: [{ name: 'coredns' }] } },
    ],
    '/api/v1/services': [
      { metadata: { name: 'kafka-zookeeper', namespace: 'default' }, spec: { selector: { app: 'zookeeper' }, ports: zkPorts } },
      { metadata: { name: 'kafka-zookeeper-headless', namespace: 'default' }, spec: { clusterIP: 'None', selector: { app: 'zookeeper' }, ports: zkPorts } },
      { metadata: { name: 'istio-ingressgateway', namespace: 'istio-system', labels: { istio: 'ingressgateway' } }, spec: { selector: { istio: 'ingressgateway' }, ports: [{ name: 'http2', port: 80, targetPort: 8080, protocol: 'TCP' }] } },
    ],
  };
  return async (p) => {
    if (p.includes('istio.io')) throw new KubeApiError(404, `GET ${p}: 404 not found`);
    return { items: lists[p] ?? [] };
  };
}

t.test('the live cluster: lab-09 after its apply', async (t) => {
  const r = await runAnalyze([], { kubeGet: labCluster() });
  t.equal(
    r.stdout,
    [
      'Warning [IST0103] (Pod default/customer-mongodb-66f78bcc7f-ps9l7) The pod default/customer-mongodb-66f78bcc7f-ps9l7 is missing the Istio proxy. This can often be resolved by restarting or redeploying the workload.',
      'Warning [IST0103] (Pod default/kafka-0) The pod default/kafka-0 is missing the Istio proxy. This can often be resolved by restarting or redeploying the workload.',
      'Warning [IST0103] (Pod default/kafka-zookeeper-0) The pod default/kafka-zookeeper-0 is missing the Istio proxy. This can often be resolved by restarting or redeploying the workload.',
      'Warning [IST0103] (Pod default/order-postgres-0) The pod default/order-postgres-0 is missing the Istio proxy. This can often be resolved by restarting or redeploying the workload.',
      "Info [IST0118] (Service default/kafka-zookeeper-headless) Port name follower (port: 2888, targetPort: follower) doesn't follow the naming convention of Istio port.",
      "Info [IST0118] (Service default/kafka-zookeeper) Port name follower (port: 2888, targetPort: follower) doesn't follow the naming convention of Istio port.",
      '',
    ].join('\n'),
  );
  t.equal(r.code, 0, 'warnings and infos only: exit 0');
  t.equal(r.stderr, '');
  const missing = await runAnalyze(['-n', 'nope'], { kubeGet: labCluster() });
  t.equal(missing.stderr, 'namespace "nope" not found\n');
  t.equal(missing.code, 0);
  const all = await runAnalyze(['-A'], { kubeGet: labCluster() });
  t.notMatch(all.stdout, /kube-system|istio-system/, "Kubernetes' own namespaces and the mesh's are left alone");
  const overlay = await runAnalyze([files('IST0101')[0]!], { kubeGet: labCluster() });
  t.match(overlay.stdout, /IST0101.*VirtualService default\/reviews/, 'files laid over the cluster');
  const down = await runAnalyze([], {
    kubeGet: async () => {
      throw new Error('connect ECONNREFUSED 127.0.0.1:6443');
    },
  });
  t.equal(down.code, 1);
  t.match(down.stderr, /^Error: reading the cluster: connect ECONNREFUSED/);
});
