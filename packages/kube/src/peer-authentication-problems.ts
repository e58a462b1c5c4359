/**
 * The mTLS modes of `security.istio.io` PeerAuthentication and the problems of one policy's
 * spec, as the validator reports them (`field: message`). Pure; shared by the resource
 * validator here and the control plane's mode composition (control-plane/src/security).
 */

export type MtlsMode = 'UNSET' | 'DISABLE' | 'PERMISSIVE' | 'STRICT';

const MODES: readonly MtlsMode[] = ['UNSET', 'DISABLE', 'PERMISSIVE', 'STRICT'];

/** A mode as written (any case; absent = UNSET); undefined for an unknown value. */
export function parseMtlsMode(mode: string | undefined): MtlsMode | undefined {
  if (mode === undefined || mode === '') return 'UNSET';
  const m = mode.toUpperCase() as MtlsMode;
  return MODES.includes(m) ? m : undefined;
}

/** What `peerAuthenticationProblems` reads of a policy. */
export interface PeerAuthenticationSpecLike {
  readonly selector?: { readonly matchLabels?: Readonly<Record<string, string>> };
  readonly mtls?: { readonly mode?: string };
  readonly portLevelMtls?: Readonly<Record<string, { readonly mode?: string }>>;
}

/** Problems of one policy, as the validator reports them (empty when it is fine). */
export function peerAuthenticationProblems(p: { readonly spec: PeerAuthenticationSpecLike }): string[] {
  const out: string[] = [];
  if (parseMtlsMode(p.spec.mtls?.mode) === undefined) out.push(`spec.mtls.mode: unknown mode ${JSON.stringify(p.spec.mtls?.mode)} (UNSET, DISABLE, PERMISSIVE, STRICT)`);
  const ports = Object.entries(p.spec.portLevelMtls ?? {});
  const hasSelector = Object.keys(p.spec.selector?.matchLabels ?? {}).length > 0;
  if (ports.length > 0 && !hasSelector) out.push('spec.portLevelMtls: portLevelMtls requires selector');
  for (const [port, v] of ports) {
    const n = Number(port);
    if (!Number.isInteger(n) || n < 1 || n > 65535) out.push(`spec.portLevelMtls[${port}]: port must be between 1 and 65535`);
    if (parseMtlsMode(v?.mode) === undefined) out.push(`spec.portLevelMtls[${port}].mode: unknown mode ${JSON.stringify(v?.mode)}`);
  }
  return out;
}
