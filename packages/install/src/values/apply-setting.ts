/**
 * One `--set` or `-f` leaf applied to the values being resolved: a key minimesh honours
 * changes them (after its value is checked); a key Istio has that minimesh ignores adds a
 * warning; anything else is an InstallValuesError naming the key and where it came from.
 */
import { DEFAULT_REVISION, ISTIO_NAMESPACE } from '@minimesh/mesh';
import { InstallValuesError, PULL_POLICIES, SERVICE_TYPES, type InstallValues } from './install-values.js';
import { MESH_CONFIG_FIELDS, RENDERED_COMPONENTS, SPEC_FIELDS, UNSUPPORTED_COMPONENTS, VALUES_SECTIONS } from './istio-keys.js';
import { formatPath, isFile, type PathSegment, type Setting } from './setting-path.js';

type Mutable<T> = { -readonly [K in keyof T]: T[K] extends readonly unknown[] ? T[K] : T[K] extends object ? Mutable<T[K]> : T[K] };
export type DraftValues = Mutable<Omit<InstallValues, 'warnings'>>;

/** Fields of the spec that hold one value. */
const SCALAR_FIELDS = new Set(['profile', 'installPackagePath', 'hub', 'tag', 'namespace', 'revision', 'compatibilityVersion']);

const GATEWAY_NAMES = { ingressGateways: 'istio-ingressgateway', egressGateways: 'istio-egressgateway' } as const;

/** `--set KEY` or `FILE: spec.KEY`, as messages name a setting. */
export function settingName(s: Setting, path: readonly PathSegment[] = s.path): string {
  return isFile(s.origin) ? `${s.origin}: ${formatPath(path, s.origin)}` : `${s.origin} ${formatPath(path, s.origin)}`;
}

export function applySetting(d: DraftValues, s: Setting, warnings: string[]): void {
  const name = settingName(s);
  const fail = (why: string): never => {
    throw new InstallValuesError(`${name}: ${why}`, formatPath(s.path, s.origin), s.origin);
  };
  const ignore = (why = 'not honoured by minimesh, ignored'): void => {
    warnings.push(`${name}: ${why}`);
  };
  const str = (): string => (typeof s.value === 'string' ? s.value : fail(`expected a string, got ${JSON.stringify(s.value)}`));
  const bool = (): boolean => (typeof s.value === 'boolean' ? s.value : fail(`expected true or false, got ${JSON.stringify(s.value)}`));
  const oneOf = <T extends string>(allowed: readonly T[]): T =>
    (allowed as readonly unknown[]).includes(s.value) ? (s.value as T) : fail(`expected one of ${allowed.join(', ')}, got ${JSON.stringify(s.value)}`);

  const p = s.path.map((x) => (typeof x === 'string' ? x : null));
  const [head, ...rest] = p;
  const at = (...want: string[]): boolean => want.length === p.length && want.every((w, i) => w === p[i]);
  if (head === null || head === undefined) return fail('a path must start with a field name');
  if (!SPEC_FIELDS.has(head)) return fail(`unknown field (IstioOperator's spec has ${[...SPEC_FIELDS].join(', ')})`);

  if (SCALAR_FIELDS.has(head) && rest.length > 0) return fail(`${head} is a single value, not an object`);
  if (at('profile')) return; // resolved before any other setting (the profile's values come first)
  if (at('namespace')) {
    if (str() !== ISTIO_NAMESPACE) fail(`minimesh installs into ${ISTIO_NAMESPACE} only`);
    return;
  }
  if (at('revision')) {
    if (str() !== '' && s.value !== DEFAULT_REVISION) fail(`minimesh installs the ${DEFAULT_REVISION} revision only`);
    return;
  }
  if (at('hub') || at('tag')) return ignore('ignored: minimesh runs one image for every role (set values.global.proxy.image)');
  if (head === 'meshConfig') return applyMeshConfig(d, rest, s, fail, ignore);
  if (head === 'values') {
    if (rest[0] === 'meshConfig') return applyMeshConfig(d, rest.slice(1), s, fail, ignore);
    return applyValues(d, s, fail, ignore, oneOf, str, bool);
  }
  if (head === 'components') return applyComponent(d, s, fail, ignore, oneOf, bool);
  return ignore();
}

type Fail = (why: string) => never;
type Ignore = (why?: string) => void;

function applyMeshConfig(d: DraftValues, rest: (string | null)[], s: Setting, fail: Fail, ignore: Ignore): void {
  const field = rest[0];
  if (field === undefined) return fail('expected meshConfig fields, e.g. meshConfig.accessLogFile=/dev/stdout');
  if (field === null || !MESH_CONFIG_FIELDS.has(field)) return fail(`unknown mesh config field ${JSON.stringify(field)}`);
  if (field === 'accessLogFile' && rest.length === 1) {
    if (typeof s.value !== 'string') return fail(`expected a file path (or "" for none), got ${JSON.stringify(s.value)}`);
    d.meshConfig.accessLogFile = s.value;
    return;
  }
  ignore();
}

function applyValues(d: DraftValues, s: Setting, fail: Fail, ignore: Ignore, oneOf: <T extends string>(a: readonly T[]) => T, str: () => string, bool: () => boolean): void {
  const p = s.path.map((x) => (typeof x === 'string' ? x : '[]')).join('.');
  const section = s.path[1];
  if (typeof section !== 'string' || !VALUES_SECTIONS.has(section)) return fail(`unknown values section (Istio's are ${[...VALUES_SECTIONS].join(', ')})`);
  switch (p) {
    case 'values.global.proxy.image':
      if (str().trim() === '') fail('expected an image reference, got ""');
      d.image = str();
      return;
    case 'values.global.imagePullPolicy':
      d.imagePullPolicy = oneOf(PULL_POLICIES);
      return;
    case 'values.global.istioNamespace':
      if (str() !== ISTIO_NAMESPACE) fail(`minimesh installs into ${ISTIO_NAMESPACE} only`);
      return;
    case 'values.pilot.autoscaleEnabled':
      d.pilot.autoscaleEnabled = bool();
      return;
    case 'values.pilot.traceSampling':
      if (typeof s.value !== 'number' || !(s.value >= 0 && s.value <= 100)) fail(`expected a percentage from 0 to 100, got ${JSON.stringify(s.value)}`);
      d.pilot.traceSampling = s.value as number;
      return;
    case 'values.gateways.istio-ingressgateway.type':
      d.gateways.ingress.serviceType = oneOf(SERVICE_TYPES);
      return;
    case 'values.gateways.istio-egressgateway.type':
      d.gateways.egress.serviceType = oneOf(SERVICE_TYPES);
      return;
    case 'values.gateways.istio-ingressgateway.autoscaleEnabled':
      d.gateways.ingress.autoscaleEnabled = bool();
      return;
    case 'values.gateways.istio-egressgateway.autoscaleEnabled':
      d.gateways.egress.autoscaleEnabled = bool();
      return;
    default:
      return ignore();
  }
}

function applyComponent(d: DraftValues, s: Setting, fail: Fail, ignore: Ignore, oneOf: <T extends string>(a: readonly T[]) => T, bool: () => boolean): void {
  const [, comp, ...rest] = s.path;
  if (typeof comp !== 'string') return fail('expected a component name after components.');
  if (UNSUPPORTED_COMPONENTS.has(comp)) {
    if (rest.length === 1 && rest[0] === 'enabled' && s.value === true) fail(`minimesh has no ${comp} component`);
    return ignore();
  }
  if (!RENDERED_COMPONENTS.has(comp)) return fail(`unknown component (Istio's are ${[...RENDERED_COMPONENTS, ...UNSUPPORTED_COMPONENTS].join(', ')})`);
  if (comp === 'base' || comp === 'pilot') {
    if (rest.length === 1 && rest[0] === 'enabled') d.components[comp] = bool();
    else if (rest.length === 0) fail(`expected components.${comp}.enabled`);
    else ignore();
    return;
  }
  const gwName = GATEWAY_NAMES[comp as keyof typeof GATEWAY_NAMES];
  const gw = comp === 'ingressGateways' ? d.gateways.ingress : d.gateways.egress;
  const [sel, ...field] = rest;
  if (sel === undefined) return fail(`expected a list: components.${comp}[0].enabled=true`);
  if (typeof sel === 'string') return fail(`components.${comp} is a list: write components.${comp}[0].${sel}`);
  if ('index' in sel ? sel.index !== 0 : sel.field !== 'name' || sel.value !== gwName) {
    return fail(`minimesh renders one gateway here, ${gwName}: select it as [0] or [name:${gwName}]`);
  }
  const f = field.map((x) => (typeof x === 'string' ? x : '[]')).join('.');
  switch (f) {
    case 'enabled':
      gw.enabled = bool();
      return;
    case 'name':
      if (s.value !== gwName) fail(`minimesh renders this gateway as ${gwName} only`);
      return;
    case 'namespace':
      if (s.value !== ISTIO_NAMESPACE) fail(`minimesh installs gateways into ${ISTIO_NAMESPACE} only`);
      return;
    case 'k8s.service.type':
      gw.serviceType = oneOf(SERVICE_TYPES);
      return;
    case '':
      return fail('expected a field of the gateway, e.g. enabled');
    default:
      return ignore();
  }
}
