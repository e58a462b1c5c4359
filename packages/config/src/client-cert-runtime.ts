/**
 * The connection manager's client-certificate forwarding (`forward_client_cert_details`,
 * `set_current_client_cert_details`): how `x-forwarded-client-cert` goes upstream. Compiled
 * here; the proxy applies it to the upstream request head (proxy/src/security/xfcc.ts).
 */
import type { HttpConnectionManager } from '@minimesh/api';
import { allowOnly, join, type Errors } from './errors.js';

export type ForwardClientCertDetailsRt = 'SANITIZE' | 'FORWARD_ONLY' | 'APPEND_FORWARD' | 'SANITIZE_SET' | 'ALWAYS_FORWARD_ONLY';

export interface ClientCertDetailsRt {
  readonly mode: ForwardClientCertDetailsRt;
  /** What the current element names of the client certificate. */
  readonly set: { readonly subject: boolean; readonly uri: boolean; readonly dns: boolean; readonly cert: boolean; readonly chain: boolean };
}

const MODES: readonly ForwardClientCertDetailsRt[] = ['SANITIZE', 'FORWARD_ONLY', 'APPEND_FORWARD', 'SANITIZE_SET', 'ALWAYS_FORWARD_ONLY'];

/** undefined: Envoy's default (SANITIZE, the header removed). */
export function compileClientCertDetails(h: HttpConnectionManager, path: string, errors: Errors): ClientCertDetailsRt | undefined {
  const raw = h.forward_client_cert_details as unknown;
  const mode = (typeof raw === 'number' ? MODES[raw] : (raw ?? 'SANITIZE')) as ForwardClientCertDetailsRt;
  if (!MODES.includes(mode)) {
    errors.add(join(path, 'forward_client_cert_details'), `unknown value ${JSON.stringify(raw)} (${MODES.join(', ')})`);
    return undefined;
  }
  const s = h.set_current_client_cert_details;
  const sp = join(path, 'set_current_client_cert_details');
  allowOnly(s, sp, ['subject', 'uri', 'dns', 'cert', 'chain'], errors);
  const subject = s?.subject as unknown;
  const set = {
    subject: typeof subject === 'boolean' ? subject : (subject as { value?: boolean } | null | undefined)?.value === true,
    uri: s?.uri === true,
    dns: s?.dns === true,
    cert: s?.cert === true,
    chain: s?.chain === true,
  };
  if (mode === 'SANITIZE' && s == null) return undefined;
  return { mode, set };
}
