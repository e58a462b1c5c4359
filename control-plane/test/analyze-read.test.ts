/** Reading files for analysis: each resource's first line, List items, JSON, namespaces, errors. */
import t from 'tap';
import { readManifestText } from '../src/analyze/analyzed-resource.js';

t.test('the line of each resource is its first line, after comments and separators', async (t) => {
  const text = ['# a comment', '', 'apiVersion: v1', 'kind: Namespace', 'metadata:', '  name: a', '---', '# another', 'apiVersion: v1', 'kind: Service', 'metadata:', '  name: s', 'spec:', '  ports:', '  - name: http', '    port: 80', ''].join('\n');
  const r = readManifestText(text, 'f.yaml', 'shop');
  t.same(
    r.resources.map((x) => [x.kind, x.namespace, x.name, x.origin.line]),
    [
      ['Namespace', '', 'a', 3],
      ['Service', 'shop', 's', 9],
    ],
    'the Service lands in the default namespace given; a Namespace has none',
  );
  t.same(r.parseErrors, []);
});

t.test('List items each at their own line', async (t) => {
  const text = ['apiVersion: v1', 'kind: List', 'items:', '- apiVersion: v1', '  kind: Pod', '  metadata:', '    name: p1', '- apiVersion: v1', '  kind: Pod', '  metadata:', '    name: p2', '    namespace: other', ''].join('\n');
  const r = readManifestText(text, 'list.yaml', 'default');
  t.same(
    r.resources.map((x) => [x.name, x.namespace, x.origin.line]),
    [
      ['p1', 'default', 4],
      ['p2', 'other', 8],
    ],
  );
});

t.test('JSON, kinds minimesh does not translate, and errors', async (t) => {
  const json = readManifestText('{"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "kafka"}, "spec": {}}', 'sts.json', 'default');
  t.same(json.resources.map((x) => [x.kind, x.namespace, x.name, x.origin.line]), [['StatefulSet', 'default', 'kafka', 1]], 'kept raw for the analyzers');
  const bad = readManifestText('kind: [unclosed\n', 'bad.yaml', 'default');
  t.equal(bad.parseErrors.length, 1);
  t.match(bad.parseErrors[0], /^bad\.yaml: /);
  const noKind = readManifestText('metadata:\n  name: x\n', 'nokind.yaml', 'default');
  t.same(noKind.parseErrors, ['nokind.yaml:1: not a Kubernetes object (no kind)']);
  const invalid = readManifestText('apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata:\n  name: g\nspec:\n  servers: 3\n', 'gw.yaml', 'default');
  t.same(invalid.resources, [], 'an invalid resource is left out of the analyzers');
  t.equal(invalid.messages.length, 1);
  t.match(invalid.messages[0], { code: 'IST0106', level: 'Error', origin: { kind: 'Gateway', namespace: 'default', name: 'g', file: 'gw.yaml', line: 1 } });
  t.match(invalid.messages[0]!.message, /^Schema validation error: spec\.servers/);
});
