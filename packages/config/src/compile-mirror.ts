/** RouteAction `request_mirror_policies` -> MirrorPolicyRt[]. */
import type { RouteAction } from '@minimesh/api';
import { allowOnly, join, type Errors } from './errors.js';
import type { MirrorPolicyRt } from './mirror-runtime.js';

const DENOMINATORS: Readonly<Record<string, number>> = { HUNDRED: 100, TEN_THOUSAND: 10_000, MILLION: 1_000_000 };

type Policies = RouteAction['request_mirror_policies'];

export function compileMirrorPolicies(policies: Policies | null | undefined, path: string, errors: Errors): readonly MirrorPolicyRt[] | undefined {
  if (!policies || policies.length === 0) return undefined;
  const out: MirrorPolicyRt[] = [];
  policies.forEach((p, i) => {
    const pp = `${path}[${i}]`;
    allowOnly(p, pp, ['cluster', 'runtime_fraction', 'trace_sampled', 'disable_shadow_host_suffix_append'], errors, [], {
      cluster_header: 'cluster_header is not supported by minimesh yet',
    });
    if (!p.cluster) {
      errors.add(join(pp, 'cluster'), 'must not be empty');
      return;
    }
    let numerator = 100;
    let denominator = 100;
    const rf = p.runtime_fraction;
    if (rf) {
      const fp = join(pp, 'runtime_fraction');
      // No runtime in minimesh: the default value is the fraction.
      allowOnly(rf, fp, ['default_value', 'runtime_key'], errors);
      const dv = rf.default_value;
      if (dv) {
        const d = typeof dv.denominator === 'number' ? [100, 10_000, 1_000_000][dv.denominator] : DENOMINATORS[dv.denominator ?? 'HUNDRED'];
        if (d === undefined) errors.add(join(fp, 'default_value.denominator'), `must be HUNDRED, TEN_THOUSAND or MILLION, not ${JSON.stringify(dv.denominator)}`);
        else {
          denominator = d;
          numerator = Math.min(dv.numerator ?? 0, d);
        }
      }
    }
    out.push({ cluster: p.cluster, numerator, denominator, keepHost: p.disable_shadow_host_suffix_append === true });
  });
  return out;
}
