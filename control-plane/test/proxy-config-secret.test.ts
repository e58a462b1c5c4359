/**
 * `proxy-config secret` on a fixed SecretsConfigDump (Envoy's shape, as in istioctl's own test
 * data: an active chain, an active root, a warming secret): istioctl's table, validity at a
 * given time, serials without leading zeros, camelCase JSON; and the proxy found through the
 * control plane's node metadata.
 */
import 'reflect-metadata';
import t from 'tap';
import { X509Certificate } from 'node:crypto';
import { CertificateAuthority, createRootCa } from '../src/security/certificate-authority.js';
import { signWorkloadCsr } from '../src/security/workload-cert.js';
import { secretItems, secretJson, secretTable } from '../src/cli/proxy-config-secret.js';
import { podOfDump } from '../src/cli/proxy-admin.js';
import { makeCsr } from './helpers/ca-call.js';

const b64 = (s: string): string => Buffer.from(s).toString('base64');
const SECRET = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret';

t.test('the table and the JSON', async (t) => {
  const root = await createRootCa();
  const ca = await CertificateAuthority.load(root.certPem, root.keyPem);
  const now = new Date();
  const chain = await signWorkloadCsr(ca, { csrPem: await makeCsr(), identity: { namespace: 'default', serviceAccount: 'sleep' }, trustDomain: 'cluster.local', ttlMs: 3600_000, now });
  const dump = {
    configs: [
      { '@type': 'type.googleapis.com/envoy.admin.v3.BootstrapConfigDump', bootstrap: {} },
      {
        '@type': 'type.googleapis.com/envoy.admin.v3.SecretsConfigDump',
        dynamic_active_secrets: [
          { name: 'default', version_info: 'v', last_updated: now.toISOString(), secret: { '@type': SECRET, name: 'default', tls_certificate: { certificate_chain: { inline_bytes: b64(chain.join('')) }, private_key: { inline_bytes: b64('[redacted]') } } } },
          { name: 'ROOTCA', last_updated: now.toISOString(), secret: { '@type': SECRET, name: 'ROOTCA', validation_context: { trusted_ca: { inline_bytes: b64(ca.rootPem) } } } },
        ],
        dynamic_warming_secrets: [{ name: 'configmap://some/thing', version_info: 'uninitialized', last_updated: now.toISOString(), secret: { '@type': SECRET, name: 'configmap://some/thing' } }],
      },
    ],
  };
  const leaf = new X509Certificate(chain[0]);
  const rootCert = new X509Certificate(ca.rootPem);
  const z = (d: string): string => new Date(d).toISOString().replace(/\.000Z$/, 'Z');
  const serial = (c: X509Certificate): string => c.serialNumber.toLowerCase().replace(/^0+/, '');
  const items = secretItems(dump, now);
  t.same(items.map((i) => [i.name, i.type, i.state, i.valid]), [
    ['configmap://some/thing', '', 'WARMING', false],
    ['default', 'Cert Chain', 'ACTIVE', true],
    ['ROOTCA', 'CA', 'ACTIVE', true],
  ]);
  t.equal(items[1].serial, serial(leaf), 'the leaf\'s serial, lowercase hex');
  t.equal(items[1].notAfter, z(leaf.validTo));
  t.equal(items[1].notBefore, z(leaf.validFrom));
  t.match(items[1].notAfter, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/, 'RFC 3339, seconds, UTC');

  const w = (s: string, n: number): string => s.padEnd(n);
  const width = 'configmap://some/thing'.length + 5;
  const sw = Math.max(13, serial(leaf).length, serial(rootCert).length) + 5;
  t.equal(
    secretTable(dump, now),
    [
      `${w('RESOURCE NAME', width)}${w('TYPE', 15)}STATUS      VALID CERT     ${w('SERIAL NUMBER', sw)}${w('NOT AFTER', 25)}NOT BEFORE`,
      `${w('configmap://some/thing', width)}${w('', 15)}WARMING     false`,
      `${w('default', width)}${w('Cert Chain', 15)}ACTIVE      true           ${w(serial(leaf), sw)}${z(leaf.validTo)}     ${z(leaf.validFrom)}`,
      `${w('ROOTCA', width)}${w('CA', 15)}ACTIVE      true           ${w(serial(rootCert), sw)}${z(rootCert.validTo)}     ${z(rootCert.validFrom)}`,
    ].join('\n'),
    "istioctl's columns, five spaces apart",
  );
  t.match(secretTable(dump, new Date(Date.now() + 2 * 3600_000)), /default\s+Cert Chain\s+ACTIVE\s+false/, 'an expired certificate is not valid');
  t.equal(secretTable({ configs: [] }), 'No secret items to show.');

  const json = secretJson(dump) as { dynamicActiveSecrets: { name: string; lastUpdated: string; secret: { '@type': string; tlsCertificate?: { certificateChain: { inlineBytes: string }; privateKey: { inlineBytes: string } } } }[]; dynamicWarmingSecrets: unknown[] };
  t.equal(json.dynamicActiveSecrets[0].secret['@type'], SECRET, '@type kept');
  t.equal(json.dynamicActiveSecrets[0].secret.tlsCertificate!.privateKey.inlineBytes, b64('[redacted]'));
  t.equal(json.dynamicWarmingSecrets.length, 1);
  t.ok(json.dynamicActiveSecrets[0].lastUpdated, 'camelCase names');
});

t.test('the proxy\'s pod and IP from the control plane\'s dump', async (t) => {
  const dump = { configs: [{ '@type': 'type.googleapis.com/envoy.admin.v3.BootstrapConfigDump', bootstrap: { node: { id: 'x', metadata: { POD_NAME: 'sleep-1', NAMESPACE: 'shop', INSTANCE_IPS: '127.0.0.3,fd00::3' } } } }] };
  t.same(podOfDump(dump), { pod: 'sleep-1', namespace: 'shop', ip: '127.0.0.3' });
  t.same(podOfDump({}), { pod: undefined, namespace: undefined, ip: undefined });
});
