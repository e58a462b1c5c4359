/** `minimesh profile list`: the profiles `--set profile=` takes. */
import { PROFILE_NAMES } from '../values/install-values.js';
import { processIo, type CliIo } from './manifest-generate.js';

export const PROFILE_USAGE = `Usage: minimesh profile list

List the configuration profiles 'minimesh install --set profile=NAME' takes.
`;

export function profileMain(argv: string[], io: CliIo = processIo): number {
  const [sub, ...rest] = argv;
  if (sub === 'list' && rest.length === 0) {
    io.stdout(`Istio configuration profiles:\n${PROFILE_NAMES.map((p) => `    ${p}\n`).join('')}`);
    return 0;
  }
  if (sub === undefined || sub === '--help' || sub === '-h' || (sub === 'list' && (rest[0] === '--help' || rest[0] === '-h'))) {
    io.stdout(PROFILE_USAGE);
    return 0;
  }
  io.stderr(`minimesh profile: unknown ${sub === 'list' ? `argument ${JSON.stringify(rest[0])}` : `command ${JSON.stringify(sub)}`}\n\n${PROFILE_USAGE}`);
  return 2;
}
