/**
 * `security.istio.io` RequestAuthentication (v1, v1beta1): the shape checked as Istio's webhook
 * does. Each `jwtRules` entry needs an `issuer`; `jwksUri` must be an http(s) URL and `jwks` a
 * JSON Web Key Set (JSON with a `keys` list); token locations, headers and claims must be
 * non-empty; `selector` excludes `targetRef(s)`.
 */
import { at, checkArray, checkDuration, checkFields, checkLabels, checkString, isObject } from './check.js';
import type { IssueCollector } from './issues.js';

const RULE_FIELDS = ['issuer', 'audiences', 'jwksUri', 'jwks', 'fromHeaders', 'fromParams', 'fromCookies', 'outputPayloadToHeader', 'forwardOriginalToken', 'outputClaimToHeaders', 'timeout'];
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

function checkStrings(c: IssueCollector, v: unknown, path: string): void {
  if (!checkArray(c, v, path)) return;
  v.forEach((x, i) => {
    if (checkString(c, x, at(path, i), true) && x === '') c.error(at(path, i), 'must not be empty');
  });
}

function checkHeaderName(c: IssueCollector, v: unknown, path: string, required: boolean): void {
  if (!checkString(c, v, path, required)) return;
  if (!HEADER_NAME.test(v)) c.error(path, `${JSON.stringify(v)} is not a valid HTTP header name`);
}

function checkJwks(c: IssueCollector, v: string, path: string): void {
  let parsed: unknown;
  try {
    parsed = JSON.parse(v);
  } catch (e) {
    return c.error(path, `is not JSON: ${(e as Error).message}`);
  }
  if (!isObject(parsed) || !Array.isArray(parsed.keys)) c.error(path, 'must be a JSON Web Key Set (an object with a "keys" list)');
}

function checkRule(c: IssueCollector, r: unknown, path: string): void {
  if (!checkFields(c, r, path, RULE_FIELDS)) return;
  if (checkString(c, r.issuer, at(path, 'issuer'), true) && r.issuer === '') c.error(at(path, 'issuer'), 'must not be empty');
  checkStrings(c, r.audiences, at(path, 'audiences'));
  if (checkString(c, r.jwksUri, at(path, 'jwksUri')) && r.jwksUri !== '') {
    let url: URL | undefined;
    try {
      url = new URL(r.jwksUri);
    } catch {
      url = undefined;
    }
    if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '') c.error(at(path, 'jwksUri'), `${JSON.stringify(r.jwksUri)} is not an http or https URL`);
  }
  if (checkString(c, r.jwks, at(path, 'jwks')) && r.jwks !== '') checkJwks(c, r.jwks, at(path, 'jwks'));
  if (checkArray(c, r.fromHeaders, at(path, 'fromHeaders'))) {
    r.fromHeaders.forEach((h, i) => {
      const hp = at(at(path, 'fromHeaders'), i);
      if (!checkFields(c, h, hp, ['name', 'prefix'])) return;
      checkHeaderName(c, h.name, at(hp, 'name'), true);
      checkString(c, h.prefix, at(hp, 'prefix'));
    });
  }
  checkStrings(c, r.fromParams, at(path, 'fromParams'));
  checkStrings(c, r.fromCookies, at(path, 'fromCookies'));
  checkHeaderName(c, r.outputPayloadToHeader, at(path, 'outputPayloadToHeader'), false);
  if (r.forwardOriginalToken !== undefined && typeof r.forwardOriginalToken !== 'boolean') c.error(at(path, 'forwardOriginalToken'), 'must be a boolean');
  if (checkArray(c, r.outputClaimToHeaders, at(path, 'outputClaimToHeaders'))) {
    r.outputClaimToHeaders.forEach((h, i) => {
      const hp = at(at(path, 'outputClaimToHeaders'), i);
      if (!checkFields(c, h, hp, ['header', 'claim'])) return;
      checkHeaderName(c, h.header, at(hp, 'header'), true);
      if (checkString(c, h.claim, at(hp, 'claim'), true) && h.claim === '') c.error(at(hp, 'claim'), 'must not be empty');
    });
  }
  checkDuration(c, r.timeout, at(path, 'timeout'));
}

export function validateRequestAuthenticationSpec(c: IssueCollector, spec: unknown): void {
  if (spec === undefined || spec === null) return;
  if (!checkFields(c, spec, 'spec', ['selector', 'targetRef', 'targetRefs', 'jwtRules'])) return;
  if (spec.selector !== undefined && checkFields(c, spec.selector, 'spec.selector', ['matchLabels']) && spec.selector.matchLabels !== undefined) checkLabels(c, spec.selector.matchLabels, 'spec.selector.matchLabels');
  if (spec.selector !== undefined && (spec.targetRef !== undefined || spec.targetRefs !== undefined)) c.error('spec', 'only one of selector, targetRef or targetRefs can be set');
  if (checkArray(c, spec.jwtRules, 'spec.jwtRules')) spec.jwtRules.forEach((r, i) => checkRule(c, r, at('spec.jwtRules', i)));
}
