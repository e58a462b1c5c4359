/**
 * `minimesh analyze [FILE|DIR|-]... [-f FILE]...`: checks mesh config and workloads, from the
 * live cluster (with the files laid over it) or from files alone (`--use-kube=false`), and
 * prints what it finds as istioctl analyze does:
 *   Warning [IST0103] (Pod default/web-1) The pod default/web-1 is missing the Istio proxy. ...
 * Exit 79 when a message reaches `--failure-threshold` (Error unless set), 65 when a file cannot
 * be parsed, 64 for a bad `-o`, 1 for other errors (a bad flag, an unreadable file).
 */
import { parseArgs } from 'node:util';
import fs from 'node:fs';
import { parseLevel, KNOWN_CODES, type AnalysisMessage, type Level } from '../analyze/analysis-message.js';
import { mergeResources, readManifestText, type AnalyzedResource } from '../analyze/analyzed-resource.js';
import { ANALYSIS_DOCS_URL, OUTPUT_FORMATS, atOrAbove, formatMessages, parseSuppression, type OutputFormat, type Suppression } from '../analyze/format-messages.js';
import { gatherFiles } from '../analyze/gather-files.js';
import { kubeGetter, listClusterResources, type KubeGet } from '../analyze/kube-resources.js';
import { defaultMeshResources, listAnalyzers, runAnalysis } from '../analyze/run-analysis.js';

export const ANALYZE_USAGE = `Usage: minimesh analyze [FILE|DIR|-]... [options]

Analyze mesh configuration and print validation messages. Without --use-kube=false the live
cluster is read (kubeconfig, or in-cluster) and the files given are laid over it.

Examples:
  minimesh analyze                                   # the live cluster, namespace default
  minimesh analyze -A                                # every namespace
  minimesh analyze --use-kube=false -f k8s/ -R       # files only
  minimesh analyze -S "IST0103=Pod mypod.testing"    # suppress one message

Options:
  -f, --filename FILE|DIR          a file or folder to analyze (repeatable; also as arguments)
  -R, --recursive                  read folders recursively
  -k, --use-kube=true|false        read the live cluster (default true)
  -n, --namespace NS               the namespace to report on (default: default)
  -A, --all-namespaces             report on every namespace
      --failure-threshold LEVEL    Info, Warning or Error: exit 79 at or above it (default Error)
      --output-threshold LEVEL     Info, Warning or Error: print messages at or above it (default Info)
  -o, --output FORMAT              log (default), json or yaml
  -S, --suppress "CODE=Kind name.ns"  hide a message (repeatable; * is a wildcard)
  -L, --list-analyzers             list the analyzers and exit
      --color=true|false           colour levels (default: when stdout is a terminal)
      --ignore-unknown             do not fail on documents that cannot be parsed
      --kubeconfig FILE, --context NAME   which cluster to read
  -h, --help                       this help
`;

export const EXIT_ISSUES_FOUND = 79;
export const EXIT_FILE_PARSE = 65;
export const EXIT_USAGE = 64;

export interface AnalyzeIo {
  readonly stdout: (s: string) => void;
  readonly stderr: (s: string) => void;
  readonly readStdin: () => string;
  /** Whether stdout is a terminal (colour default). */
  readonly isTTY: boolean;
  /** The cluster reader; tests pass a fake. */
  readonly kubeGet?: (kubeconfig?: string, context?: string) => Promise<KubeGet>;
}

/** Cobra's `--flag=false` for booleans: pulled out of argv before parseArgs, which has no such form. */
function takeBool(argv: string[], names: readonly string[]): { value: boolean | undefined; rest: string[] } {
  let value: boolean | undefined;
  const rest: string[] = [];
  for (const a of argv) {
    const m = /^(--?[\w-]+)=(.*)$/.exec(a);
    if (m && names.includes(m[1]!)) {
      if (m[2] !== 'true' && m[2] !== 'false') throw new Error(`invalid argument ${JSON.stringify(m[2])} for "${m[1]}" flag: strconv.ParseBool: parsing ${JSON.stringify(m[2])}: invalid syntax`);
      value = m[2] === 'true';
    } else if (names.includes(a)) value = true;
    else rest.push(a);
  }
  return { value, rest };
}

function level(flag: string, v: string | undefined, dflt: Level): Level {
  if (v === undefined) return dflt;
  const l = parseLevel(v);
  if (!l) throw new Error(`invalid argument ${JSON.stringify(v)} for "--${flag}" flag: invalid level option`);
  return l;
}

/** The success note: the files analyzed, or the namespace(s). */
function cleanNote(files: readonly string[], target: string): string {
  if (files.length === 1) return `\u2714 No validation issues found when analyzing ${files[0]}.\n`;
  if (files.length > 1) return `\u2714 No validation issues found when analyzing:\n${files.map((f) => `  - ${f}`).join('\n')}\n`;
  return `\u2714 No validation issues found when analyzing ${target}.\n`;
}

export async function analyzeCommand(argv: readonly string[], io: AnalyzeIo): Promise<number> {
  let values, positionals, useKube: boolean | undefined, color: boolean | undefined;
  try {
    const k = takeBool([...argv], ['--use-kube', '-k']);
    const c = takeBool(k.rest, ['--color']);
    useKube = k.value;
    color = c.value;
    ({ values, positionals } = parseArgs({
      args: c.rest,
      options: {
        filename: { type: 'string', short: 'f', multiple: true },
        recursive: { type: 'boolean', short: 'R' },
        namespace: { type: 'string', short: 'n' },
        'all-namespaces': { type: 'boolean', short: 'A' },
        'failure-threshold': { type: 'string' },
        'output-threshold': { type: 'string' },
        output: { type: 'string', short: 'o' },
        suppress: { type: 'string', short: 'S', multiple: true },
        'list-analyzers': { type: 'boolean', short: 'L' },
        'ignore-unknown': { type: 'boolean' },
        kubeconfig: { type: 'string', short: 'c' },
        context: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: true,
    }));
  } catch (e) {
    io.stderr(`Error: ${(e as Error).message.replace(/^Unknown option '([^']+)'.*$/s, 'unknown flag: $1')}\n`);
    return 1;
  }
  if (values.help) {
    io.stdout(ANALYZE_USAGE);
    return 0;
  }
  let failureThreshold: Level, outputThreshold: Level;
  try {
    failureThreshold = level('failure-threshold', values['failure-threshold'], 'Error');
    outputThreshold = level('output-threshold', values['output-threshold'], 'Info');
  } catch (e) {
    io.stderr(`Error: ${(e as Error).message}\n`);
    return 1;
  }
  const format = (values.output ?? 'log').toLowerCase() as OutputFormat;
  if (!OUTPUT_FORMATS.includes(format)) {
    io.stderr(`Error: ${format} not a valid option for format. See minimesh analyze --help\n`);
    return EXIT_USAGE;
  }
  if (values['list-analyzers']) {
    io.stdout(listAnalyzers());
    return 0;
  }
  const suppressions: Suppression[] = [];
  for (const s of values.suppress ?? []) {
    const p = parseSuppression(s);
    if (!p) {
      io.stderr(`Error: ${s} is not a valid suppression value. See minimesh analyze --help\n`);
      return 1;
    }
    if (!KNOWN_CODES.has(p.code)) io.stderr(`Warning: Supplied message code '${p.code}' is an unknown message code and will not have any effect.\n`);
    suppressions.push(p);
  }
  const all = values['all-namespaces'] === true;
  const namespace = values.namespace || 'default';
  const target = all ? 'all namespaces' : `namespace: ${namespace}`;
  let gathered;
  try {
    gathered = gatherFiles([...(values.filename ?? []), ...positionals], values.recursive === true, io.readStdin);
  } catch (e) {
    io.stderr(`Error: ${(e as Error).message}\n`);
    return 1;
  }
  for (const s of gathered.skipped) io.stderr(`${s}\n`);

  const readMessages: AnalysisMessage[] = [];
  let base: AnalyzedResource[];
  if (useKube !== false) {
    try {
      const get = await (io.kubeGet ?? kubeGetter)(values.kubeconfig, values.context);
      const cluster = await listClusterResources(get);
      if (!all && values.namespace && !cluster.resources.some((r) => r.kind === 'Namespace' && r.name === namespace)) {
        io.stderr(`namespace ${JSON.stringify(namespace)} not found\n`);
        return 0;
      }
      base = cluster.resources;
      readMessages.push(...cluster.messages);
    } catch (e) {
      io.stderr(`Error: reading the cluster: ${(e as Error).message}\n`);
      return 1;
    }
  } else base = defaultMeshResources();

  const parseErrors: string[] = [];
  const fromFiles: AnalyzedResource[] = [];
  for (const f of gathered.files) {
    const r = readManifestText(f.text, f.name, namespace);
    fromFiles.push(...r.resources);
    readMessages.push(...r.messages);
    parseErrors.push(...r.parseErrors);
  }
  if (parseErrors.length > 0) io.stderr(`Error(s) adding files: ${parseErrors.join('\n')}\n`);
  const badFiles = new Set(parseErrors.map((p) => p.split(':')[0])).size;

  const messages = runAnalysis(mergeResources(base, fromFiles), { namespace: all ? undefined : namespace, suppressions, readMessages });
  const shown = messages.filter((m) => atOrAbove(m, outputThreshold));
  io.stdout(`${formatMessages(shown, format, color ?? (io.isTTY && (process.env.TERM ?? '').toLowerCase() !== 'dumb'))}\n`);
  if (shown.length === 0) {
    if (badFiles === 0) io.stderr(cleanNote(gathered.files.map((f) => f.name), target));
    else io.stderr(`No validation issues found when analyzing ${target} (but ${badFiles} ${badFiles === 1 ? 'file' : 'files'} could not be parsed).\n`);
  }
  // The exit code only for the log format, from every message (not only the ones printed).
  if (format !== 'log') return 0;
  if (messages.some((m) => atOrAbove(m, failureThreshold))) {
    io.stderr(`Error: Analyzers found issues when analyzing ${target}.\nSee ${ANALYSIS_DOCS_URL} for more information about causes and resolutions.\n`);
    return EXIT_ISSUES_FOUND;
  }
  if (badFiles > 0 && values['ignore-unknown'] !== true) {
    io.stderr(`Error: Some files couldn't be parsed.\n`);
    return EXIT_FILE_PARSE;
  }
  return 0;
}

export async function analyzeMain(argv: string[]): Promise<number> {
  return analyzeCommand(argv, {
    stdout: (s) => process.stdout.write(s),
    stderr: (s) => process.stderr.write(s),
    readStdin: () => fs.readFileSync(0, 'utf8'),
    isTTY: process.stdout.isTTY === true,
  });
}
