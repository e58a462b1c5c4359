/**
 * `minimesh proxy-config secret`: the secrets a proxy holds (its admin /config_dump's
 * SecretsConfigDump), as istioctl prints them:
 *   RESOURCE NAME  TYPE  STATUS  VALID CERT  SERIAL NUMBER  NOT AFTER  NOT BEFORE
 * TYPE is `Cert Chain` (tls_certificate) or `CA` (validation_context); the certificate shown
 * is the first of the bundle; the serial in lowercase hex without leading zeros; the times
 * RFC 3339 in UTC. `-o json` prints the SecretsConfigDump in istioctl's JSON (camelCase).
 */
import { X509Certificate } from 'node:crypto';
import { renderTable } from '@minimesh/mesh';
import { field, type Json } from './config-dump-reader.js';

const list = (v: unknown): Json[] => (Array.isArray(v) ? (v as Json[]) : []);

export interface SecretItem {
  readonly name: string;
  readonly type: string;
  readonly state: 'ACTIVE' | 'WARMING';
  readonly valid: boolean;
  readonly serial: string;
  readonly notAfter: string;
  readonly notBefore: string;
}

/** The SecretsConfigDump section of a config dump, or undefined. */
export function secretsSection(dump: unknown): Json | undefined {
  return list(field(dump, 'configs')).find((c) => String(c['@type'] ?? '').endsWith('.SecretsConfigDump'));
}

const rfc3339 = (d: string): string => new Date(d).toISOString().replace(/\.\d{3}Z$/, 'Z');

function item(entry: Json, state: SecretItem['state'], now: Date): SecretItem {
  const name = String(field(entry, 'name') ?? '');
  const secret = field(entry, 'secret');
  const chain = field(field(field(secret, 'tls_certificate'), 'certificate_chain'), 'inline_bytes');
  const ca = field(field(field(secret, 'validation_context'), 'trusted_ca'), 'inline_bytes');
  const bytes = typeof chain === 'string' ? chain : typeof ca === 'string' ? ca : undefined;
  const type = typeof chain === 'string' ? 'Cert Chain' : typeof ca === 'string' ? 'CA' : '';
  if (bytes === undefined) return { name, type, state, valid: false, serial: '', notAfter: '', notBefore: '' };
  try {
    const cert = new X509Certificate(Buffer.from(bytes, 'base64'));
    const from = new Date(cert.validFrom);
    const to = new Date(cert.validTo);
    const serial = cert.serialNumber.toLowerCase().replace(/^0+(?=.)/, '');
    return { name, type, state, valid: now >= from && now <= to, serial, notAfter: rfc3339(cert.validTo), notBefore: rfc3339(cert.validFrom) };
  } catch {
    return { name, type, state, valid: false, serial: '', notAfter: '', notBefore: '' };
  }
}

/** The rows: active secrets, then warming ones. */
export function secretItems(dump: unknown, now = new Date()): SecretItem[] {
  const s = secretsSection(dump);
  return [
    ...list(field(s, 'dynamic_warming_secrets')).map((e) => item(e, 'WARMING', now)),
    ...list(field(s, 'dynamic_active_secrets')).map((e) => item(e, 'ACTIVE', now)),
  ];
}

export function secretTable(dump: unknown, now = new Date()): string {
  const items = secretItems(dump, now);
  if (items.length === 0) return 'No secret items to show.';
  const rows = items.map((i) => [i.name, i.type, i.state, String(i.valid), i.serial, i.notAfter, i.notBefore]);
  return renderTable(['RESOURCE NAME', 'TYPE', 'STATUS', 'VALID CERT', 'SERIAL NUMBER', 'NOT AFTER', 'NOT BEFORE'], rows, { left: 'all', rule: false, gap: 5 })
    .split('\n')
    .map((l) => l.trimEnd())
    .join('\n');
}

const camel = (k: string): string => (k.startsWith('@') ? k : k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase()));

function toCamel(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(toCamel);
  if (v === null || typeof v !== 'object') return v;
  return Object.fromEntries(Object.entries(v as Json).map(([k, x]) => [camel(k), toCamel(x)]));
}

/** `-o json`: the SecretsConfigDump as istioctl prints it (camelCase field names). */
export function secretJson(dump: unknown): unknown {
  return toCamel(secretsSection(dump) ?? { '@type': 'type.googleapis.com/envoy.admin.v3.SecretsConfigDump' });
}
