/**
 * The mesh config (Istio's MeshConfig, the `mesh` key of ConfigMap `istio`), as far as minimesh
 * acts on it: `accessLogFile` (every sidecar's and gateway's access log unless a Telemetry
 * resource says otherwise), `accessLogFormat` and `accessLogEncoding`, `rootNamespace` (the
 * mesh-wide Telemetry scope), `trustDomain` (the CA's organisation when it creates its root),
 * `h2UpgradePolicy` (outbound HTTP clusters upgraded to HTTP/2), `enableAutoMtls`,
 * `outboundTrafficPolicy.mode`, the default `exportTo` of Services, VirtualServices and
 * DestinationRules (model/export-to.ts) and `localityLbSetting` (the mesh-wide locality load
 * balancing, for rules without their own).
 * `defaultConfig.concurrency` (the worker processes the injector gives each sidecar, Istio's 2
 * when unset; a pod's `proxy.istio.io/config` overrides it).
 * `defaultConfig.discoveryAddress`, `defaultProviders.metrics: [prometheus]` and
 * `enablePrometheusMerge: true` are what minimesh does anyway: accepted silently. Any other key
 * is a warning naming it; what cannot be read at all (bad YAML, a wrong type) is an error
 * naming the file and line, and nothing of that text is used.
 */
import { isMap, isScalar, LineCounter, parseDocument, type Pair, type YAMLMap } from 'yaml';
import { ISTIO_NAMESPACE } from '@minimesh/mesh';
import { checkLocalityLbSetting, IssueCollector, type LocalityLbSetting } from '@minimesh/kube';

export interface MeshConfig {
  /** Where every proxy's access log goes; '' for none. */
  readonly accessLogFile: string;
  /** The access log line (Envoy's command operators); '' for Istio's. */
  readonly accessLogFormat: string;
  readonly accessLogEncoding: 'TEXT' | 'JSON';
  /** JSON encoding with an `accessLogFormat`: its fields (key -> operators). */
  readonly accessLogJsonFormat?: Readonly<Record<string, string>>;
  /** Where mesh-wide config lives (Telemetry without a selector there applies to every proxy). */
  readonly rootNamespace: string;
  readonly trustDomain: string;
  /** Given: outbound HTTP ports speak HTTP/2 upstream (UPGRADE) or not, unless a DestinationRule says. */
  readonly h2UpgradePolicy?: 'DO_NOT_UPGRADE' | 'UPGRADE';
  /** `enableAutoMtls` (default true): sidecars send mTLS to endpoints whose pods take it, unless a DestinationRule says. */
  readonly enableAutoMtls?: boolean;
  /** `outboundTrafficPolicy.mode` (default ALLOW_ANY): REGISTRY_ONLY sends unknown destinations to BlackHoleCluster. */
  readonly outboundTrafficPolicyMode?: 'ALLOW_ANY' | 'REGISTRY_ONLY';
  /** `defaultServiceExportTo`, `defaultVirtualServiceExportTo`, `defaultDestinationRuleExportTo` (default `*`). */
  readonly defaultServiceExportTo?: readonly string[];
  readonly defaultVirtualServiceExportTo?: readonly string[];
  readonly defaultDestinationRuleExportTo?: readonly string[];
  /** Mesh-wide locality load balancing (Istio's default: enabled, no rules). */
  readonly localityLbSetting?: LocalityLbSetting;
  /** `defaultConfig.concurrency`: each injected sidecar's `--concurrency` (unset: the injector's default, 2). */
  readonly proxyConcurrency?: number;
}

/** Istio's defaults: no access log, root namespace istio-system, trust domain cluster.local. */
export const DEFAULT_MESH_CONFIG: MeshConfig = Object.freeze({
  accessLogFile: '',
  accessLogFormat: '',
  accessLogEncoding: 'TEXT' as const,
  rootNamespace: ISTIO_NAMESPACE,
  trustDomain: 'cluster.local',
});

/** A mesh config that cannot be used; the message names the file and line. */
export class MeshConfigError extends Error {}

export interface ParsedMeshConfig {
  readonly config: MeshConfig;
  /** One line per key not acted on: `FILE:LINE: KEY: ...`. */
  readonly warnings: readonly string[];
}

const NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Parses the text of a mesh config file (`file` names it in messages). Throws MeshConfigError. */
export function parseMeshConfig(text: string, file: string): ParsedMeshConfig {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number | undefined): string => {
    if (offset === undefined) return file;
    const { line, col } = lineCounter.linePos(offset);
    return `${file}:${line}:${col}`;
  };
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    throw new MeshConfigError(`${at(e.pos[0])}: not valid YAML: ${e.message.split('\n')[0]}`);
  }
  const warnings: string[] = [];
  const out: { -readonly [K in keyof MeshConfig]: MeshConfig[K] } = { ...DEFAULT_MESH_CONFIG };
  if (doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) return { config: out, warnings };
  if (!isMap(doc.contents)) throw new MeshConfigError(`${at(doc.contents.range?.[0])}: the mesh config must be a mapping of MeshConfig fields`);

  const fail = (p: Pair, key: string, expected: string): never => {
    throw new MeshConfigError(`${at(keyOffset(p))}: ${key}: expected ${expected}, got ${JSON.stringify(plain(p.value))}`);
  };
  const warn = (p: Pair, key: string, why = 'not supported by minimesh; ignored'): void => void warnings.push(`${at(keyOffset(p))}: ${key}: ${why}`);
  const str = (p: Pair, key: string): string | undefined => {
    const v = plain(p.value);
    if (v === null || v === undefined) return undefined;
    return typeof v === 'string' ? v : fail(p, key, 'a string');
  };

  for (const p of (doc.contents as YAMLMap).items) {
    const key = String(plain(p.key));
    switch (key) {
      case 'accessLogFile':
        out.accessLogFile = str(p, key) ?? '';
        break;
      case 'accessLogFormat':
        out.accessLogFormat = str(p, key) ?? '';
        break;
      case 'accessLogEncoding': {
        const v = str(p, key) ?? 'TEXT';
        if (v !== 'TEXT' && v !== 'JSON') fail(p, key, 'TEXT or JSON');
        out.accessLogEncoding = v as 'TEXT' | 'JSON';
        break;
      }
      case 'rootNamespace': {
        const v = str(p, key);
        if (v !== undefined && v !== '' && !NAME.test(v)) fail(p, key, 'a namespace name');
        out.rootNamespace = v || DEFAULT_MESH_CONFIG.rootNamespace;
        break;
      }
      case 'trustDomain':
        out.trustDomain = str(p, key) || DEFAULT_MESH_CONFIG.trustDomain;
        break;
      case 'h2UpgradePolicy': {
        const v = str(p, key);
        if (v !== undefined && v !== 'DO_NOT_UPGRADE' && v !== 'UPGRADE') fail(p, key, 'DO_NOT_UPGRADE or UPGRADE');
        if (v !== undefined) out.h2UpgradePolicy = v as 'DO_NOT_UPGRADE' | 'UPGRADE';
        break;
      }
      case 'enableAutoMtls': {
        const v = plain(p.value);
        if (v !== null && v !== undefined && typeof v !== 'boolean') fail(p, key, 'true or false');
        if (typeof v === 'boolean') out.enableAutoMtls = v;
        break;
      }
      case 'outboundTrafficPolicy':
        for (const [sub, sp] of subKeys(p, key, fail)) {
          if (sub !== 'mode') {
            warn(sp, `${key}.${sub}`);
            continue;
          }
          const v = str(sp, `${key}.mode`);
          if (v !== undefined && v !== 'ALLOW_ANY' && v !== 'REGISTRY_ONLY') fail(sp, `${key}.mode`, 'ALLOW_ANY or REGISTRY_ONLY');
          if (v !== undefined) out.outboundTrafficPolicyMode = v as 'ALLOW_ANY' | 'REGISTRY_ONLY';
        }
        break;
      case 'defaultServiceExportTo':
      case 'defaultVirtualServiceExportTo':
      case 'defaultDestinationRuleExportTo': {
        const v = plain(p.value);
        if (v === null || v === undefined) break;
        if (!Array.isArray(v) || v.some((x) => typeof x !== 'string' || !(x === '.' || x === '*' || x === '~' || NAME.test(x)))) fail(p, key, 'a list of ".", "*", "~" or namespace names');
        out[key] = Object.freeze([...(v as string[])]);
        break;
      }
      case 'localityLbSetting': {
        const v = plain(p.value);
        if (v === null || v === undefined) break;
        const c = new IssueCollector('MeshConfig', '', 'mesh');
        checkLocalityLbSetting(c, v, key);
        const e = c.errors[0];
        if (e !== undefined) throw new MeshConfigError(`${at(keyOffset(p))}: ${e.field}: ${e.message}`);
        out.localityLbSetting = v as LocalityLbSetting;
        break;
      }
      case 'defaultConfig':
        // The proxies' settings: where they find the control plane is the injector's to say.
        for (const [sub, sp] of subKeys(p, key, fail)) {
          if (sub === 'concurrency') {
            const v = plain(sp.value);
            if (v === null || v === undefined) continue;
            if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 128) fail(sp, `${key}.${sub}`, 'a number of workers from 0 (one per core) to 128');
            out.proxyConcurrency = v as number;
          } else if (sub !== 'discoveryAddress') warn(sp, `${key}.${sub}`);
        }
        break;
      case 'defaultProviders':
        for (const [sub, sp] of subKeys(p, key, fail)) {
          const v = plain(sp.value);
          const onlyPrometheus = sub === 'metrics' && Array.isArray(v) && v.every((x) => x === 'prometheus');
          if (!onlyPrometheus) warn(sp, `${key}.${sub}`, sub === 'metrics' ? 'only prometheus is supported by minimesh; ignored' : undefined);
        }
        break;
      case 'enablePrometheusMerge':
        // Every minimesh proxy merges the app's metrics into :15020 already.
        if (plain(p.value) === false) warn(p, key, 'minimesh proxies always merge metrics; ignored');
        break;
      default:
        warn(p, key);
    }
  }
  if (out.accessLogEncoding === 'JSON' && out.accessLogFormat !== '') {
    const p = (doc.contents as YAMLMap).items.find((i) => plain(i.key) === 'accessLogFormat')!;
    out.accessLogJsonFormat = jsonFields(out.accessLogFormat, () => fail(p, 'accessLogFormat', 'a JSON object of strings (accessLogEncoding is JSON)'));
  }
  return { config: Object.freeze(out), warnings };
}

function plain(node: unknown): unknown {
  return node && typeof node === 'object' && 'toJSON' in node ? (node as { toJSON(): unknown }).toJSON() : node;
}

function keyOffset(p: Pair): number | undefined {
  return (p.key as { range?: [number, number, number] } | null)?.range?.[0];
}

function subKeys(p: Pair, key: string, fail: (p: Pair, key: string, expected: string) => never): [string, Pair][] {
  if (p.value === null || (isScalar(p.value) && p.value.value === null)) return [];
  if (!isMap(p.value)) fail(p, key, 'a mapping');
  return (p.value as YAMLMap).items.map((i) => [String(plain(i.key)), i]);
}

function jsonFields(text: string, bad: () => never): Record<string, string> {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    bad();
  }
  if (!v || typeof v !== 'object' || Array.isArray(v) || Object.values(v).some((x) => typeof x !== 'string')) bad();
  return v as Record<string, string>;
}
