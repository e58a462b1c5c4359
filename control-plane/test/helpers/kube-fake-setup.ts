/**
 * A fake API server with the webhook configurations an install applies (Istio's shapes,
 * without caBundle, validation failing open), and a control plane in --kube mode against it
 * whose webhook Service `istiod.istio-system:443` resolves to the control plane's port.
 */
import { KubeConfig } from '@kubernetes/client-node';
import { FakeApiServer, type Obj } from '@minimesh/kube-fake';
import { ControlPlane } from '../../src/server/control-plane.js';

export function fakeKubeConfig(api: FakeApiServer): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'fake', server: api.url, skipTLSVerify: true }],
    users: [{ name: 'tester', token: 'not-checked' }],
    contexts: [{ name: 'fake', cluster: 'fake', user: 'tester' }],
    currentContext: 'fake',
  });
  return kc;
}

const svc = (path: string) => ({ service: { name: 'istiod', namespace: 'istio-system', path, port: 443 } });
const podRules = [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'] }];
const notFalse = { key: 'sidecar.istio.io/inject', operator: 'NotIn', values: ['false'] };
const revIn = { key: 'istio.io/rev', operator: 'In', values: ['default'] };
const revNone = { key: 'istio.io/rev', operator: 'DoesNotExist' };
const injNone = { key: 'istio-injection', operator: 'DoesNotExist' };
const injector = (name: string, ns: object[], obj: object[]) => ({ name, clientConfig: svc('/inject'), rules: podRules, failurePolicy: 'Fail', sideEffects: 'None', admissionReviewVersions: ['v1'], namespaceSelector: { matchExpressions: ns }, objectSelector: { matchExpressions: obj } });

export function injectorConfig(name = 'istio-sidecar-injector', rev = 'default', extra: object[] = []): Obj {
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'MutatingWebhookConfiguration',
    metadata: { name, labels: { app: 'sidecar-injector', 'istio.io/rev': rev } },
    webhooks: [
      injector('rev.namespace.sidecar-injector.istio.io', [revIn, injNone], [notFalse]),
      injector('rev.object.sidecar-injector.istio.io', [revNone, injNone], [notFalse, revIn]),
      injector('namespace.sidecar-injector.istio.io', [{ key: 'istio-injection', operator: 'In', values: ['enabled'] }], [notFalse]),
      injector('object.sidecar-injector.istio.io', [injNone, revNone], [{ key: 'sidecar.istio.io/inject', operator: 'In', values: ['true'] }, revNone]),
      ...extra,
    ],
  } as unknown as Obj;
}

const validationRules = [{ operations: ['CREATE', 'UPDATE'], apiGroups: ['security.istio.io', 'networking.istio.io', 'telemetry.istio.io', 'extensions.istio.io'], apiVersions: ['*'], resources: ['*'] }];

export function validatorConfig(name: string, webhook: string, objectSelector: object, rev = 'default'): Obj {
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingWebhookConfiguration',
    metadata: { name, labels: { app: 'istiod', 'istio.io/rev': rev } },
    webhooks: [{ name: webhook, clientConfig: svc('/validate'), rules: validationRules, failurePolicy: 'Ignore', sideEffects: 'None', admissionReviewVersions: ['v1'], objectSelector: { matchExpressions: [objectSelector] } }],
  } as unknown as Obj;
}

export const VALIDATORS = (): Obj[] => [validatorConfig('istio-validator-istio-system', 'rev.validation.istio.io', revIn), validatorConfig('istiod-default-validator', 'validation.istio.io', revNone)];

export interface KubeStand {
  readonly api: FakeApiServer;
  readonly kc: KubeConfig;
  readonly cp: ControlPlane;
  readonly logs: string[];
  /** Whether the webhook Service has endpoints (the control plane's port) for the API server. */
  reachable: boolean;
  /** Resolves when start() did (it waits for the CA). */
  readonly started: Promise<void>;
}

/** The fake with namespaces and `setup` applied, then the control plane started (not awaited). */
export async function kubeStand(setup: (api: FakeApiServer) => void): Promise<KubeStand> {
  const stand = { reachable: true, logs: [] as string[] } as { -readonly [K in keyof KubeStand]: KubeStand[K] };
  stand.api = new FakeApiServer({ resolveService: (ns, name, port) => (stand.reachable && ns === 'istio-system' && name === 'istiod' && port === 443 && stand.cp.webhookPort ? { host: '127.0.0.1', port: stand.cp.webhookPort } : undefined) });
  await stand.api.start();
  for (const ns of ['istio-system', 'default']) stand.api.write('ADDED', 'Namespace', { metadata: { name: ns } });
  setup(stand.api);
  stand.kc = fakeKubeConfig(stand.api);
  const any = { host: '127.0.0.1', port: 0 };
  stand.cp = new ControlPlane({
    source: { kind: 'kube' },
    kubeConfig: stand.kc,
    xdsAddress: any,
    debugAddress: any,
    secureXdsAddress: any,
    webhookAddress: any,
    readyAddress: any,
    dashboardAddress: 'off',
    tlsDir: '/nonexistent/minimesh-tls',
    proxyImage: 'minimesh:0.1.0',
    namespace: 'istio-system',
    revision: 'default',
    debounce: { quietMs: 5, maxMs: 20 },
    kubeRetry: { initialMs: 20, maxMs: 200 },
    print: (l) => stand.logs.push(l),
  });
  stand.started = stand.cp.start();
  stand.started.catch(() => undefined);
  return stand;
}

export async function until(cond: () => boolean | Promise<boolean>, ms = 8000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await cond()) return true;
    await new Promise((r) => setTimeout(r, 25));
  }
  return cond();
}
