/** `minimesh iptables`: the init container's program. */
import { IPTABLES_USAGE, IptablesUsageError, parseIptablesArgs, type IptablesCommand } from './capture-options.js';
import { buildNatRules, restoreText, type IpFamily } from './capture-rules.js';
import { applyRules, cleanupRules } from './apply-rules.js';
import { systemRunner, type CommandRunner } from './iptables-runner.js';

export async function iptablesMain(argv: string[], run: CommandRunner = systemRunner): Promise<number> {
  let cmd: IptablesCommand | 'help';
  try {
    cmd = parseIptablesArgs(argv);
  } catch (e) {
    if (!(e instanceof IptablesUsageError)) throw e;
    process.stderr.write(`minimesh iptables: ${e.message}\n\n${IPTABLES_USAGE}`);
    return 2;
  }
  if (cmd === 'help') {
    process.stdout.write(IPTABLES_USAGE);
    return 0;
  }
  const families: IpFamily[] = cmd.ipv6 ? [4, 6] : [4];
  try {
    for (const family of families) {
      const tool = family === 4 ? 'iptables' : 'ip6tables';
      if (cmd.cleanup) {
        if (cmd.dryRun) {
          process.stdout.write(`# ${tool}: --cleanup removes the jumps into ISTIO_* chains and the chains themselves\n`);
          continue;
        }
        const removed = cleanupRules(run, family);
        process.stdout.write(removed.length ? `# ${tool}: removed\n${restoreText('nat', removed)}` : `# ${tool}: nothing to remove\n`);
        continue;
      }
      if (cmd.dryRun) {
        process.stdout.write(`# ${tool}-restore --noflush\n${restoreText('nat', buildNatRules(cmd.options, family))}`);
        continue;
      }
      const text = applyRules(run, family, cmd.options);
      process.stdout.write(`# ${tool}: applied\n${text}`);
    }
  } catch (e) {
    process.stderr.write(`minimesh iptables: ${(e as Error).message}\n`);
    return 1;
  }
  return 0;
}
