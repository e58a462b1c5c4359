/** `minimesh control-plane` flags for the TLS ports, readiness, the serving certificate and injection. */
import t from 'tap';
import { CONTROL_PLANE_USAGE, ControlPlaneUsageError, parseControlPlaneArgs } from '../src/server/control-plane-args.js';

const parse = (argv: string[], env: NodeJS.ProcessEnv = {}) => parseControlPlaneArgs(argv, env);
const usageError = (argv: string[]): string => {
  try {
    parse(argv);
  } catch (e) {
    if (e instanceof ControlPlaneUsageError) return e.message;
    throw e;
  }
  return '(no error)';
};

t.test('--kube: istiod\'s ports by default, as the install manifests run it', async (t) => {
  const o = parse(
    ['--kube', '--capture', '--xds-address', '0.0.0.0:15010', '--secure-xds-address', '0.0.0.0:15012', '--webhook-address', '0.0.0.0:15017', '--debug-address', '0.0.0.0:15014', '--ready-address', '0.0.0.0:8080', '--dashboard-address', '0.0.0.0:20001', '--proxy-image', 'minimesh:0.1.0'],
    { POD_NAME: 'istiod-abc', POD_NAMESPACE: 'istio-system', REVISION: 'default', CLUSTER_ID: 'Kubernetes', PILOT_CERT_PROVIDER: 'istiod' },
  );
  t.match(o, {
    source: { kind: 'kube' },
    secureXdsAddress: { host: '0.0.0.0', port: 15012 },
    webhookAddress: { host: '0.0.0.0', port: 15017 },
    readyAddress: { host: '0.0.0.0', port: 8080 },
    tlsDir: '/var/run/secrets/istiod/tls',
    proxyImage: 'minimesh:0.1.0',
    namespace: 'istio-system',
    revision: 'default',
  });
  t.match(parse(['--kube']), { secureXdsAddress: { port: 15012 }, webhookAddress: { port: 15017 }, readyAddress: { port: 8080 }, proxyImage: 'minimesh:0.1.0', namespace: 'istio-system', revision: 'default' }, 'the same without the flags');
  t.match(parse(['--kube'], { POD_NAMESPACE: 'mesh', REVISION: 'canary' }), { namespace: 'mesh', revision: 'canary' });
  t.match(parse(['--kube', '--webhook-address', 'off', '--secure-xds-address', 'off', '--ready-address', 'off']), { webhookAddress: undefined, secureXdsAddress: undefined, readyAddress: undefined });
  t.match(parse(['--kube', '--tls-dir', '/certs']), { tlsDir: '/certs' });
});

t.test('without --kube the TLS ports are off unless given, and then need --tls-dir', async (t) => {
  t.match(parse(['--config-dir', '.']), { secureXdsAddress: undefined, webhookAddress: undefined, readyAddress: undefined, tlsDir: undefined });
  t.match(usageError(['--config-dir', '.', '--secure-xds-address', ':15012']), /^--secure-xds-address needs --tls-dir DIR \(tls\.crt, tls\.key\) without --kube/);
  t.match(usageError(['--config-dir', '.', '--webhook-address', ':15017', '--secure-xds-address', ':15012']), /^--secure-xds-address and --webhook-address need --tls-dir DIR/);
  t.match(parse(['--config-dir', '.', '--webhook-address', '127.0.0.1:0', '--tls-dir', '/certs', '--ready-address', ':8080']), { webhookAddress: { host: '127.0.0.1', port: 0 }, tlsDir: '/certs', readyAddress: { host: '0.0.0.0', port: 8080 } });
});

t.test('bad values are usage errors naming the flag', async (t) => {
  t.match(usageError(['--kube', '--webhook-address', 'nowhere']), /--webhook-address: expected HOST:PORT/);
  t.match(usageError(['--kube', '--ready-address', '1.2.3.4:99999']), /--ready-address: expected HOST:PORT/);
  t.match(usageError(['--kube', '--proxy-image', 'a b']), /--proxy-image: expected an image reference/);
  t.match(usageError(['--kube', '--tls-dir', '']), /--tls-dir: expected a folder/);
  t.throws(() => parse(['--kube'], { POD_NAMESPACE: 'Not_A_Namespace' }), /POD_NAMESPACE: expected a namespace name/);
});

t.test('the usage text lists the new flags', async (t) => {
  for (const f of ['--secure-xds-address', '--webhook-address', '--ready-address', '--tls-dir', '--proxy-image', 'POD_NAMESPACE', 'REVISION', '/metrics', '/version']) t.match(CONTROL_PLANE_USAGE, f);
  for (const line of CONTROL_PLANE_USAGE.split('\n')) t.ok(line.length <= 100, `short line: ${line}`);
});

t.test('--h2-upgrade-policy: the mesh config h2UpgradePolicy', async (t) => {
  t.match(parse(['--kube', '--h2-upgrade-policy', 'UPGRADE']), { meshH2UpgradePolicy: 'UPGRADE' });
  t.notOk('meshH2UpgradePolicy' in (parse(['--kube']) as object), "absent: the generator's default (DO_NOT_UPGRADE)");
  t.match(usageError(['--kube', '--h2-upgrade-policy', 'yes']), /--h2-upgrade-policy: expected UPGRADE or DO_NOT_UPGRADE, got "yes"/);
  t.match(CONTROL_PLANE_USAGE, '--h2-upgrade-policy');
});
