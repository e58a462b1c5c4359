/**
 * `minimesh manifest generate [--set KEY=VALUE]... [-f FILE]... [--profile NAME]`: prints every
 * object an install applies, as YAML documents separated by `---`, in the order they are applied
 * (CRDs first). Keys Istio has that minimesh ignores are listed on stderr.
 */
import { parseArgs } from 'node:util';
import { renderManifest, manifestObjects, toYamlDocuments } from '../render-manifest.js';
import { InstallValuesError, PROFILE_NAMES } from '../values/install-values.js';
import { resolveInstallValues } from '../values/resolve-values.js';

export const MANIFEST_USAGE = `Usage: minimesh manifest <command>

Commands:
  generate   print the objects 'minimesh install' applies, as YAML

Run 'minimesh manifest generate --help' for its options.
`;

export const MANIFEST_GENERATE_USAGE = `Usage: minimesh manifest generate [options]

Print every object 'minimesh install' applies, as YAML documents separated by '---', in the
order they are applied (CRDs first). Nothing is sent to a cluster.

Examples:
  minimesh manifest generate --set profile=demo
  minimesh manifest generate -f my-operator.yaml --set values.gateways.istio-ingressgateway.type=NodePort
  minimesh manifest generate --set profile=demo | kubectl apply --dry-run=client -f -

Options:
  -s, --set KEY=VALUE   override one setting, as in an IstioOperator's spec (repeatable):
                          profile=${PROFILE_NAMES.join('|')}
                          meshConfig.accessLogFile=/dev/stdout
                          values.global.proxy.image=IMAGE (every role's image)
                          values.gateways.istio-ingressgateway.type=NodePort
                          components.egressGateways[0].enabled=true
  -f, --filename FILE   an IstioOperator YAML file (install.istio.io/v1alpha1; repeatable;
                        later files and --set win)
      --profile NAME    the profile (${PROFILE_NAMES.join(', ')}); --set profile= wins
  -h, --help            this help
`;

export interface CliIo {
  readonly stdout: (s: string) => void;
  readonly stderr: (s: string) => void;
  /** Reads a -f file; defaults to the file system. */
  readonly readFile?: (path: string) => string;
}

export const processIo: CliIo = {
  stdout: (s) => void process.stdout.write(s),
  stderr: (s) => void process.stderr.write(s),
};

/** `minimesh manifest ...`: only `generate`. */
export function manifestMain(argv: string[], io: CliIo = processIo): number {
  const [sub, ...rest] = argv;
  if (sub === 'generate') return manifestGenerateMain(rest, io);
  if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') {
    io.stdout(MANIFEST_USAGE);
    return 0;
  }
  io.stderr(`minimesh manifest: unknown command ${JSON.stringify(sub)}\n\n${MANIFEST_USAGE}`);
  return 2;
}

export function manifestGenerateMain(argv: string[], io: CliIo = processIo): number {
  let values;
  try {
    const { values: flags, positionals } = parseArgs({
      args: argv,
      options: {
        set: { type: 'string', short: 's', multiple: true },
        filename: { type: 'string', short: 'f', multiple: true },
        profile: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: true,
      strict: true,
    });
    if (flags.help) {
      io.stdout(MANIFEST_GENERATE_USAGE);
      return 0;
    }
    if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
    values = resolveInstallValues({ sets: flags.set ?? [], files: flags.filename ?? [], profile: flags.profile, readFile: io.readFile });
  } catch (e) {
    if (e instanceof InstallValuesError) {
      io.stderr(`minimesh manifest generate: ${e.message}\n`);
      return 1;
    }
    const code = (e as { code?: string }).code;
    if (e instanceof UsageError || (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS'))) {
      io.stderr(`minimesh manifest generate: ${(e as Error).message}\n\n${MANIFEST_GENERATE_USAGE}`);
      return 2;
    }
    throw e;
  }
  for (const w of values.warnings) io.stderr(`Warning: ${w}\n`);
  io.stdout(toYamlDocuments(manifestObjects(renderManifest(values))));
  return 0;
}

class UsageError extends Error {}
