/** VirtualService `http[].corsPolicy` (translated to the proxy's CORS filter). */
import { at, checkArray, checkDuration, checkFields, checkString } from './check.js';
import type { IssueCollector } from './issues.js';

const UNMATCHED_PREFLIGHTS = ['UNSPECIFIED', 'FORWARD', 'IGNORE'];

/** `checkStringMatch`: the StringMatch validator of validate-istio.ts (passed in: no import cycle). */
export function checkCorsPolicy(c: IssueCollector, v: unknown, path: string, checkStringMatch: (c: IssueCollector, v: unknown, path: string) => void): void {
  if (!checkFields(c, v, path, ['allowOrigins', 'allowOrigin', 'allowMethods', 'allowHeaders', 'exposeHeaders', 'maxAge', 'allowCredentials', 'unmatchedPreflights'])) return;
  if (checkArray(c, v.allowOrigins, at(path, 'allowOrigins'))) v.allowOrigins.forEach((m, i) => checkStringMatch(c, m, at(at(path, 'allowOrigins'), i)));
  for (const k of ['allowOrigin', 'allowMethods', 'allowHeaders', 'exposeHeaders'] as const) {
    if (checkArray(c, v[k], at(path, k))) v[k].forEach((s, i) => checkString(c, s, at(at(path, k), i), true));
  }
  checkDuration(c, v.maxAge, at(path, 'maxAge'));
  if (v.allowCredentials !== undefined && typeof v.allowCredentials !== 'boolean') c.error(at(path, 'allowCredentials'), 'must be true or false');
  if (v.unmatchedPreflights !== undefined && !UNMATCHED_PREFLIGHTS.includes(v.unmatchedPreflights as string)) {
    c.error(at(path, 'unmatchedPreflights'), `must be one of ${UNMATCHED_PREFLIGHTS.join(', ')}`);
  }
}
