/**
 * `security.istio.io` PeerAuthentication (v1, v1beta1): the shape (unknown fields, types),
 * then the policy's meaning with `peerAuthenticationProblems` (modes, ports, `portLevelMtls`
 * without a selector), each error naming its field.
 */
import { at, checkFields, checkLabels, checkString, isObject } from './check.js';
import type { IssueCollector } from './issues.js';
import { peerAuthenticationProblems, type PeerAuthenticationSpecLike } from './peer-authentication-problems.js';

export function validatePeerAuthenticationSpec(c: IssueCollector, spec: unknown): void {
  if (spec === undefined || spec === null) return;
  if (!checkFields(c, spec, 'spec', ['selector', 'mtls', 'portLevelMtls'])) return;
  if (spec.selector !== undefined && checkFields(c, spec.selector, 'spec.selector', ['matchLabels']) && spec.selector.matchLabels !== undefined) checkLabels(c, spec.selector.matchLabels, 'spec.selector.matchLabels');
  let shapeOk = true;
  if (spec.mtls !== undefined) {
    if (checkFields(c, spec.mtls, 'spec.mtls', ['mode'])) {
      if (spec.mtls.mode !== undefined && !checkString(c, spec.mtls.mode, 'spec.mtls.mode')) shapeOk = false;
    } else shapeOk = spec.mtls === null;
  }
  if (spec.portLevelMtls !== undefined && spec.portLevelMtls !== null) {
    if (!isObject(spec.portLevelMtls)) {
      c.error('spec.portLevelMtls', 'must be an object of port -> {mode}');
      shapeOk = false;
    } else {
      for (const [port, v] of Object.entries(spec.portLevelMtls)) {
        const p = at('spec.portLevelMtls', port);
        if (!checkFields(c, v, p, ['mode'])) {
          if (v === null || v === undefined) c.error(p, 'must be an object with mode');
          shapeOk = false;
        } else if (v.mode !== undefined && !checkString(c, v.mode, at(p, 'mode'))) shapeOk = false;
      }
    }
  }
  if (!shapeOk) return;
  for (const problem of peerAuthenticationProblems({ spec: spec as PeerAuthenticationSpecLike })) {
    const i = problem.indexOf(': ');
    c.error(problem.slice(0, i), problem.slice(i + 2));
  }
}
