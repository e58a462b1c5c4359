/**
 * Printing analysis messages as `istioctl analyze` does:
 *   Warning [IST0103] (Pod default/web-1 pods.yaml:12) The pod default/web-1 is missing ...
 * sorted (level, code, Kind/name/namespace) and deduplicated; `-o json` is a tab-indented array of
 * {code, documentationUrl, level, message, origin, reference?}; `-o yaml` the same as YAML.
 */
import YAML from 'yaml';
import { LEVEL_RANK, type AnalysisMessage, type Level, type MessageOrigin } from './analysis-message.js';

/** Where each code is explained (the codes and their pages are Istio's). */
export const ANALYSIS_DOCS_URL = 'https://istio.io/v1.22/docs/reference/config/analysis';

export type OutputFormat = 'log' | 'json' | 'yaml';
export const OUTPUT_FORMATS: readonly OutputFormat[] = ['log', 'json', 'yaml'];

/** `Pod default/web-1`, or `Namespace default` for a cluster-scoped kind. */
export const friendlyName = (o: MessageOrigin): string => (o.namespace === '' ? `${o.kind} ${o.name}` : `${o.kind} ${o.namespace}/${o.name}`);

/** `file:line` when the resource was read from a file. */
export const reference = (o: MessageOrigin): string | undefined => (o.file === undefined ? undefined : `${o.file}:${o.line ?? 1}`);

const COLORS: Readonly<Record<Level, string>> = { Info: '', Warning: '\x1b[33m', Error: '\x1b[1;31m' };

export function logLine(m: AnalysisMessage, color = false): string {
  const ref = reference(m.origin);
  const level = color && COLORS[m.level] ? `${COLORS[m.level]}${m.level}\x1b[0m` : m.level;
  return `${level} [${m.code}] (${friendlyName(m.origin)}${ref ? ` ${ref}` : ''}) ${m.message}`;
}

const comparator = (o: MessageOrigin): string => `${o.kind}/${o.name}/${o.namespace}`;
const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Error, Warning, Info; then code; then Kind/name/namespace; then the line; duplicates dropped. */
export function sortMessages(ms: readonly AnalysisMessage[]): AnalysisMessage[] {
  const sorted = [...ms].sort(
    (a, b) => LEVEL_RANK[b.level] - LEVEL_RANK[a.level] || cmp(a.code, b.code) || cmp(comparator(a.origin), comparator(b.origin)) || cmp(logLine(a), logLine(b)),
  );
  return sorted.filter((m, i) => i === 0 || logLine(m) !== logLine(sorted[i - 1]!));
}

export const atOrAbove = (m: AnalysisMessage, threshold: Level): boolean => LEVEL_RANK[m.level] >= LEVEL_RANK[threshold];

/** The JSON/YAML record of one message (keys in the order Go's map marshalling gives them). */
export function messageRecord(m: AnalysisMessage): Record<string, string> {
  const r: Record<string, string> = {
    code: m.code,
    documentationUrl: `${ANALYSIS_DOCS_URL}/${m.code.toLowerCase()}/?ref=istioctl-analyze`,
    level: m.level,
    message: m.message,
    origin: friendlyName(m.origin),
  };
  const ref = reference(m.origin);
  if (ref !== undefined) r.reference = ref;
  return r;
}

/** The text printed on stdout (a newline follows it). */
export function formatMessages(ms: readonly AnalysisMessage[], format: OutputFormat, color = false): string {
  switch (format) {
    case 'json':
      return JSON.stringify(ms.map(messageRecord), null, '\t');
    case 'yaml':
      return ms.length === 0 ? '[]\n' : YAML.stringify(ms.map(messageRecord), { lineWidth: 0 });
    default:
      return ms.map((m) => logLine(m, color)).join('\n');
  }
}

/** A `--suppress "CODE=Kind name.ns"` (or `Kind ns/name`) entry; `*` matches any run of characters. */
export interface Suppression {
  readonly code: string;
  readonly resource: string;
}

export function parseSuppression(s: string): Suppression | undefined {
  const parts = s.split('=');
  if (parts.length !== 2) return undefined;
  return { code: parts[0]!, resource: parts[1]! };
}

const glob = (pattern: string): RegExp => new RegExp(`^${pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\/]/g, '\\$&')).join('.*')}$`);

export function isSuppressed(m: AnalysisMessage, suppressions: readonly Suppression[]): boolean {
  const o = m.origin;
  const legacy = o.namespace === '' ? `${o.kind} ${o.name}` : `${o.kind} ${o.name}.${o.namespace}`;
  return suppressions.some((s) => s.code === m.code && (glob(s.resource).test(legacy) || glob(s.resource).test(friendlyName(o))));
}
