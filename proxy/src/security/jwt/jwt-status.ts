/**
 * jwt_authn's verdicts, with Envoy's texts (its local reply body is the text; the response
 * code details `jwt_authn_access_denied{text}` with spaces as underscores). A token whose
 * audience is not allowed gets 403, every other failure 401.
 */
export const JWT_STATUS = {
  Ok: 'OK',
  JwtMissed: 'Jwt is missing',
  JwtNotYetValid: 'Jwt not yet valid',
  JwtExpired: 'Jwt is expired',
  JwtBadFormat: 'Jwt is not in the form of Header.Payload.Signature with two dots and 3 sections',
  JwtVerificationFail: 'Jwt verification fails',
  JwtAudienceNotAllowed: 'Audiences in Jwt are not allowed',
  JwtUnknownIssuer: 'Jwt issuer is not configured',
  JwksFetchFail: 'Jwks remote fetch is failed',
  JwksKidAlgMismatch: "Jwks doesn't have key to match kid or alg from Jwt",
  JwtHeaderNotImplementedAlg: 'Jwt header [alg] is not supported',
} as const;

export type JwtStatus = (typeof JWT_STATUS)[keyof typeof JWT_STATUS];

export const jwtStatusCode = (s: JwtStatus): number => (s === JWT_STATUS.JwtAudienceNotAllowed ? 403 : 401);
export const jwtDeniedDetails = (s: JwtStatus): string => `jwt_authn_access_denied{${s.replace(/\s+/g, '_')}}`;
