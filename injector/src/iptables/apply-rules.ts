/**
 * Applying and removing the capture rules, each as one `iptables-restore --noflush`
 * transaction (all rules or none). Applying removes any rules of ours already there in the
 * same transaction, so running the init program twice leaves one copy, and a re-apply that
 * fails leaves the old rules in place (the pod never loses its capture: no fail-open).
 */
import type { CaptureOptions } from './capture-options.js';
import { buildCleanupRules, buildNatRules, restoreText, type IpFamily } from './capture-rules.js';
import type { CommandRunner } from './iptables-runner.js';

const TOOLS: Record<IpFamily, { save: string; restore: string }> = {
  4: { save: 'iptables-save', restore: 'iptables-restore' },
  6: { save: 'ip6tables-save', restore: 'ip6tables-restore' },
};

export class IptablesError extends Error {}

function restore(run: CommandRunner, family: IpFamily, text: string): void {
  const r = run(TOOLS[family].restore, ['--noflush'], text);
  if (r.code !== 0) throw new IptablesError(`${TOOLS[family].restore} --noflush failed (exit ${r.code}): ${r.stderr.trim()}\ninput was:\n${text}`);
}

/** Removes our rules; returns the rules it removed (empty when there were none). */
export function cleanupRules(run: CommandRunner, family: IpFamily): string[] {
  const saved = run(TOOLS[family].save, ['-t', 'nat']);
  if (saved.code !== 0) throw new IptablesError(`${TOOLS[family].save} -t nat failed (exit ${saved.code}): ${saved.stderr.trim()}`);
  const rules = buildCleanupRules(saved.stdout);
  if (rules.length > 0) restore(run, family, restoreText('nat', rules));
  return rules;
}

/**
 * Installs the rules, replacing an earlier copy in the same transaction; returns the restore
 * text applied (the removal lines, if any, then the new rules).
 */
export function applyRules(run: CommandRunner, family: IpFamily, options: CaptureOptions): string {
  const saved = run(TOOLS[family].save, ['-t', 'nat']);
  if (saved.code !== 0) throw new IptablesError(`${TOOLS[family].save} -t nat failed (exit ${saved.code}): ${saved.stderr.trim()}`);
  const text = restoreText('nat', [...buildCleanupRules(saved.stdout), ...buildNatRules(options, family)]);
  restore(run, family, text);
  return text;
}
