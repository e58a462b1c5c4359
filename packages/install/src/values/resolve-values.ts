/**
 * `--set`, `-f` and `--profile`, resolved as istioctl does: the profile (the last one named,
 * `--set profile=` over `--profile` over the files' `spec.profile`, else `default`) gives the
 * starting values; then every file's spec is laid over them in order, then `--set`s in order.
 */
import fs from 'node:fs';
import YAML from 'yaml';
import { applySetting, settingName, type DraftValues } from './apply-setting.js';
import { InstallValuesError, PROFILE_NAMES, profileValues, type InstallValues, type ProfileName } from './install-values.js';
import { parseSetFlag, specSettings, type Setting } from './setting-path.js';

export const ISTIO_OPERATOR_API_VERSION = 'install.istio.io/v1alpha1';
export const ISTIO_OPERATOR_KIND = 'IstioOperator';

export interface InstallValuesInput {
  /** `--set KEY=VALUE`, in order. */
  readonly sets: readonly string[];
  /** `-f FILE`: IstioOperator YAML files, in order. */
  readonly files: readonly string[];
  /** `--profile NAME`. */
  readonly profile?: string;
  /** Reads a file (tests pass a fake); defaults to fs.readFileSync as UTF-8. */
  readonly readFile?: (path: string) => string;
}

export function resolveInstallValues(input: InstallValuesInput): InstallValues {
  const read = input.readFile ?? ((p: string) => fs.readFileSync(p, 'utf8'));
  const settings: Setting[] = [];
  for (const file of input.files) settings.push(...fileSettings(file, read));
  if (input.profile !== undefined) settings.push({ path: ['profile'], value: input.profile, origin: '--profile' });
  for (const flag of input.sets) settings.push(parseSetFlag(flag));

  let profile: ProfileName = 'default';
  for (const s of settings) if (s.path.length === 1 && s.path[0] === 'profile') profile = checkProfile(s);

  const draft = structuredClone(profileValues(profile)) as DraftValues & { warnings?: unknown };
  delete draft.warnings;
  const warnings: string[] = [];
  for (const s of settings) applySetting(draft, s, warnings);
  return { ...draft, warnings };
}

function checkProfile(s: Setting): ProfileName {
  if ((PROFILE_NAMES as readonly unknown[]).includes(s.value)) return s.value as ProfileName;
  throw new InstallValuesError(`${settingName(s)}: unknown profile ${JSON.stringify(s.value)} (profiles: ${PROFILE_NAMES.join(', ')})`, 'profile', s.origin);
}

/** The settings of one IstioOperator file (every document in it, in order). */
export function fileSettings(file: string, read: (path: string) => string): Setting[] {
  let text: string;
  try {
    text = read(file);
  } catch (e) {
    throw new InstallValuesError(`${file}: cannot read: ${(e as Error).message}`, undefined, file);
  }
  const docs = YAML.parseAllDocuments(text, { uniqueKeys: true });
  const out: Setting[] = [];
  let seen = 0;
  docs.forEach((doc, i) => {
    const where = docs.length > 1 ? `${file} (document ${i + 1})` : file;
    if (!('errors' in doc) || doc.errors.length > 0) {
      const e = 'errors' in doc ? doc.errors[0] : undefined;
      const lp = e?.linePos?.[0];
      throw new InstallValuesError(`${where}: YAML syntax error${lp ? ` at line ${lp.line}, column ${lp.col}` : ''}: ${e?.message.split('\n')[0] ?? 'unreadable'}`, undefined, file);
    }
    const v = doc.toJS() as unknown;
    if (v === null || v === undefined) return;
    seen++;
    out.push(...operatorSpecSettings(v, where, file));
  });
  if (seen === 0) throw new InstallValuesError(`${file}: no IstioOperator in the file`, undefined, file);
  return out;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function operatorSpecSettings(v: unknown, where: string, file: string): Setting[] {
  const bad = (why: string, key?: string): never => {
    throw new InstallValuesError(`${where}: ${why}`, key, file);
  };
  if (!isObject(v)) return bad(`expected an ${ISTIO_OPERATOR_KIND} object, got ${Array.isArray(v) ? 'a list' : typeof v}`);
  if (v.apiVersion !== ISTIO_OPERATOR_API_VERSION || v.kind !== ISTIO_OPERATOR_KIND) {
    bad(`expected apiVersion ${ISTIO_OPERATOR_API_VERSION}, kind ${ISTIO_OPERATOR_KIND}; got apiVersion ${JSON.stringify(v.apiVersion)}, kind ${JSON.stringify(v.kind)}`);
  }
  for (const k of Object.keys(v)) if (!['apiVersion', 'kind', 'metadata', 'spec'].includes(k)) bad(`${k}: unknown field (an ${ISTIO_OPERATOR_KIND} has apiVersion, kind, metadata, spec)`, k);
  if (v.spec === undefined || v.spec === null) return [];
  if (!isObject(v.spec)) return bad('spec: expected an object', 'spec');
  return specSettings(v.spec, file);
}
