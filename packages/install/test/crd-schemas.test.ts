/**
 * The Base component's CRDs: Istio's kinds and versions, structural schemas made from Istio's,
 * that take every Istio object in the shared test data and the examples and refuse unknown fields.
 */
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as istioModels from '@kubernetes-models/istio';
import { parseManifests } from '@minimesh/kube';
import { SHARED_TESTDATA, fixtureSkip } from '@minimesh/mesh/fixture-skip';
import { ISTIO_CRD_KINDS, crdName, crdObjectSchema, profileValues, renderManifest, type KubeObject } from '../src/index.js';
import { istioSpecSchema } from '../src/crds/istio-schemas.js';
import { newAjv, strictSchema } from './helpers/strict-schema.js';
import { structuralProblems } from './helpers/structural-check.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');
const crds = renderManifest(profileValues('default'))[0].objects.filter((o) => o.kind === 'CustomResourceDefinition') as (KubeObject & Record<string, any>)[];
const crdFor = (apiVersion: string, kind: string) => crds.find((c) => c.spec.group === apiVersion.split('/')[0] && c.spec.names.kind === kind);

t.test('the kinds, names, versions and storage of facts §2.1', async (t) => {
  t.same(crds.map((c) => c.metadata.name).sort(), [
    'authorizationpolicies.security.istio.io', 'destinationrules.networking.istio.io', 'envoyfilters.networking.istio.io', 'gateways.networking.istio.io',
    'peerauthentications.security.istio.io', 'proxyconfigs.networking.istio.io', 'requestauthentications.security.istio.io', 'serviceentries.networking.istio.io',
    'sidecars.networking.istio.io', 'telemetries.telemetry.istio.io', 'virtualservices.networking.istio.io', 'wasmplugins.extensions.istio.io',
    'workloadentries.networking.istio.io', 'workloadgroups.networking.istio.io',
  ]);
  const short = Object.fromEntries(crds.map((c) => [c.spec.names.plural, c.spec.names.shortNames ?? []]));
  t.same(short, { destinationrules: ['dr'], gateways: ['gw'], serviceentries: ['se'], sidecars: [], virtualservices: ['vs'], workloadentries: ['we'], workloadgroups: ['wg'], envoyfilters: [], proxyconfigs: [], authorizationpolicies: ['ap'], peerauthentications: ['pa'], requestauthentications: ['ra'], telemetries: ['telemetry'], wasmplugins: [] });
  for (const c of crds) {
    const versions = c.spec.versions.map((v: any) => v.name).sort();
    const storage = c.spec.versions.filter((v: any) => v.storage).map((v: any) => v.name);
    const group = c.spec.group as string;
    const expected =
      c.spec.names.plural === 'envoyfilters' ? [['v1alpha3'], 'v1alpha3']
      : c.spec.names.plural === 'proxyconfigs' ? [['v1beta1'], 'v1beta1']
      : group === 'networking.istio.io' ? [['v1', 'v1alpha3', 'v1beta1'], 'v1']
      : group === 'security.istio.io' ? [['v1', 'v1beta1'], 'v1']
      : group === 'telemetry.istio.io' ? [['v1', 'v1alpha1'], 'v1alpha1']
      : [['v1alpha1'], 'v1alpha1'];
    t.same([versions, storage], [expected[0], [expected[1]]], `${c.metadata.name}: served ${versions}, stored ${storage}`);
    t.equal(c.spec.scope, 'Namespaced');
    t.same(c.spec.names.categories, ['istio-io', `${group.replace(/\./g, '-')}`]);
    t.equal(c.spec.names.listKind, `${c.spec.names.kind}List`);
    for (const v of c.spec.versions) {
      t.same(v.subresources, { status: {} }, `${c.metadata.name} ${v.name}: status subresource`);
      t.same(v.schema.openAPIV3Schema.properties.status, { type: 'object', 'x-kubernetes-preserve-unknown-fields': true });
    }
  }
});

t.test('every kind and version of Istio in @kubernetes-models/istio is served', async (t) => {
  const seen: string[] = [];
  const walk = (m: unknown): void => {
    for (const v of Object.values(m as object)) {
      if (typeof v === 'function' && typeof (v as any).apiVersion === 'string' && typeof (v as any).kind === 'string') seen.push(`${(v as any).apiVersion} ${(v as any).kind}`);
      else if (v && typeof v === 'object') walk(v);
    }
  };
  walk(istioModels);
  const kinds = [...new Set(seen)].filter((k) => !k.startsWith('install.istio.io/'));
  t.ok(kinds.length >= 20, `${kinds.length} kinds found in the package`);
  for (const k of kinds) {
    const [apiVersion, kind] = k.split(' ');
    const crd = crdFor(apiVersion, kind);
    t.ok(crd?.spec.versions.some((v: any) => v.name === apiVersion.split('/')[1] && v.served), `${k} is served`);
  }
});

t.test('the schemas are structural and are Istio\'s', async (t) => {
  for (const c of crds) {
    for (const v of c.spec.versions) t.same(structuralProblems(v.schema.openAPIV3Schema), [], `${c.metadata.name} ${v.name}`);
  }
  for (const k of ISTIO_CRD_KINDS) {
    const ours = Object.keys(crdObjectSchema(k).properties!.spec.properties ?? {}).sort();
    const istio = Object.keys((istioSpecSchema(k.group, k.schemaVersion, k.kind).properties as object) ?? {}).sort();
    t.same(ours, istio, `${crdName(k)}: the fields of Istio's spec`);
    t.ok(ours.length > 0, `${crdName(k)} has fields`);
  }
});

const ajv = newAjv();
const validators = new Map<string, ReturnType<typeof ajv.compile>>();
function problems(o: any): string | undefined {
  const crd = crdFor(o.apiVersion, o.kind);
  const version = crd?.spec.versions.find((v: any) => v.name === String(o.apiVersion).split('/')[1]);
  if (!version?.served) return `${o.apiVersion} ${o.kind} is not served`;
  const key = `${o.apiVersion} ${o.kind}`;
  if (!validators.has(key)) validators.set(key, ajv.compile(strictSchema(version.schema.openAPIV3Schema.properties.spec)));
  const validate = validators.get(key)!;
  return validate(o.spec ?? {}) ? undefined : ajv.errorsText(validate.errors, { dataVar: 'spec' });
}

function yamlFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === 'node_modules' ? [] : yamlFiles(p);
    return /\.ya?ml$/.test(e.name) ? [p] : [];
  });
}

t.test('every Istio object of the test data and the examples validates', async (t) => {
  const skip = fixtureSkip(t, SHARED_TESTDATA, "Istio's test data");
  const files = [...yamlFiles(path.join(REPO, 'examples')), ...(skip ? [] : yamlFiles(SHARED_TESTDATA))];
  let n = 0;
  for (const f of files) {
    for (const d of parseManifests(fs.readFileSync(f, 'utf8'))) {
      const o = d.value as any;
      if (!o || typeof o.apiVersion !== 'string' || !/\.istio\.io\//.test(o.apiVersion)) continue;
      n++;
      t.equal(problems(o), undefined, `${path.relative(REPO, f)}: ${o.kind} ${o.metadata?.name}`);
    }
  }
  t.ok(n >= (skip ? 1 : 30), `${n} Istio objects checked${skip ? ` (${skip})` : ''}`);
});

t.test('unknown fields and wrong types are refused; open fields and maps take anything', async (t) => {
  const vs = (spec: object) => ({ apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', spec });
  const route = (destination: object, weight: unknown = 100) => ({ hosts: ['r'], http: [{ route: [{ destination, weight }] }] });
  t.equal(problems(vs(route({ host: 'r', subset: 'v1' }))), undefined);
  t.match(problems(vs(route({ hostt: 'r' }))), /must NOT have additional properties/);
  t.match(problems(vs({ hosts: ['r'], bogus: 1 })), /must NOT have additional properties/);
  t.match(problems(vs(route({ host: 'r' }, 'fifty'))), /weight must be integer/);
  t.match(problems(vs({ hosts: ['r'], http: [{ match: [{ uri: { exact: '/a', prefix: '/b' } }] }] })), /oneOf/, "Istio's one-of checks are kept");
  const ef = { apiVersion: 'networking.istio.io/v1alpha3', kind: 'EnvoyFilter', spec: { configPatches: [{ applyTo: 'HTTP_FILTER', patch: { operation: 'INSERT_BEFORE', value: { name: 'x', typed_config: { '@type': 'y', anything: [1, { deep: true }] } } } }] } };
  t.equal(problems(ef), undefined, 'a Struct field is open');
  const dr = { apiVersion: 'networking.istio.io/v1', kind: 'DestinationRule', spec: { host: 'r', subsets: [{ name: 'v1', labels: { version: 'v1', 'app.kubernetes.io/x': 'y' } }] } };
  t.equal(problems(dr), undefined, 'a map takes any key');
  t.match(problems({ ...dr, spec: { host: 'r', subsets: [{ name: 'v1', labels: { version: 1 } }] } }), /must be string/);
  t.match(problems({ apiVersion: 'networking.istio.io/v2', kind: 'Gateway', spec: {} }), /not served/);
});
