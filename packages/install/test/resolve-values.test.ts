/** --set, -f and --profile: what is honoured, what is ignored with a warning, what is refused. */
import t from 'tap';
import { MINIMESH_IMAGE } from '@minimesh/mesh';
import { InstallValuesError, profileValues, resolveInstallValues } from '../src/index.js';

const files: Record<string, string> = {
  'demo.yaml': 'apiVersion: install.istio.io/v1alpha1\nkind: IstioOperator\nspec:\n  profile: demo\n',
  'nodeport.yaml': `apiVersion: install.istio.io/v1alpha1
kind: IstioOperator
metadata:
  name: lab
spec:
  meshConfig:
    accessLogFile: /dev/stdout
    enableTracing: true
  values:
    global:
      proxy:
        image: registry.local/minimesh:lab
  components:
    egressGateways:
      - name: istio-egressgateway
        enabled: true
    ingressGateways:
      - name: istio-ingressgateway
        enabled: true
        k8s:
          service:
            type: NodePort
          resources:
            requests: {cpu: 1m}
`,
  'minimal.yaml': 'apiVersion: install.istio.io/v1alpha1\nkind: IstioOperator\nspec:\n  profile: minimal\n',
  'typo.yaml': 'apiVersion: install.istio.io/v1alpha1\nkind: IstioOperator\nspec:\n  proflie: demo\n',
  'wrong-kind.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n',
  'bad.yaml': 'apiVersion: install.istio.io/v1alpha1\nkind: IstioOperator\nspec: [\n',
  'extra.yaml': 'apiVersion: install.istio.io/v1alpha1\nkind: IstioOperator\nstatus: {}\n',
  'empty.yaml': '# nothing\n',
};
const read = (p: string): string => {
  if (!(p in files)) throw new Error(`ENOENT: no such file, open '${p}'`);
  return files[p];
};
const resolve = (sets: string[], f: string[] = [], profile?: string) => resolveInstallValues({ sets, files: f, profile, readFile: read });

function refusal(fn: () => unknown): InstallValuesError {
  try {
    fn();
  } catch (e) {
    if (e instanceof InstallValuesError) return e;
    throw e;
  }
  throw new Error('no InstallValuesError');
}

t.test('nothing given: the default profile, minimesh\'s image', async (t) => {
  const v = resolve([]);
  t.same(v, profileValues('default'));
  t.equal(v.image, MINIMESH_IMAGE);
  t.same([v.namespace, v.revision, v.gateways.ingress.serviceType, v.gateways.egress.enabled], ['istio-system', 'default', 'LoadBalancer', false]);
});

t.test('the profile: --set over --profile over files; later files win', async (t) => {
  t.equal(resolve(['profile=demo']).profile, 'demo');
  t.equal(resolve([], [], 'minimal').profile, 'minimal');
  t.equal(resolve(['profile=demo'], [], 'minimal').profile, 'demo');
  t.equal(resolve([], ['demo.yaml']).profile, 'demo');
  t.equal(resolve([], ['demo.yaml', 'minimal.yaml']).profile, 'minimal');
  t.equal(resolve([], ['demo.yaml'], 'empty').profile, 'empty');
  const demo = resolve(['profile=demo']);
  t.same([demo.meshConfig.accessLogFile, demo.pilot.traceSampling, demo.pilot.autoscaleEnabled, demo.gateways.egress.enabled], ['/dev/stdout', 100, false, true]);
});

t.test('--set keys minimesh honours', async (t) => {
  const v = resolve([
    'values.gateways.istio-ingressgateway.type=NodePort',
    'values.gateways.istio-egressgateway.type=LoadBalancer',
    'meshConfig.accessLogFile=/dev/stdout',
    'values.global.proxy.image=registry.local/minimesh:1',
    'values.global.imagePullPolicy=Always',
    'values.pilot.traceSampling=2.5',
    'values.pilot.autoscaleEnabled=false',
    'components.egressGateways[0].enabled=true',
    'components.ingressGateways[name:istio-ingressgateway].k8s.service.type=ClusterIP',
    'revision=default',
    'namespace=istio-system',
  ]);
  t.same(
    [v.gateways.ingress.serviceType, v.gateways.egress.serviceType, v.meshConfig.accessLogFile, v.image, v.imagePullPolicy, v.pilot.traceSampling, v.pilot.autoscaleEnabled, v.gateways.egress.enabled],
    ['ClusterIP', 'LoadBalancer', '/dev/stdout', 'registry.local/minimesh:1', 'Always', 2.5, false, true],
  );
  t.same(v.warnings, []);
  t.equal(resolve(['profile=demo', 'meshConfig.accessLogFile=']).meshConfig.accessLogFile, '', 'an empty value turns the access log off');
  t.same([resolve(['components.pilot.enabled=false']).components.pilot, resolve(['profile=demo', 'components.egressGateways[0].enabled=false']).gateways.egress.enabled], [false, false]);
});

t.test('-f: an IstioOperator\'s spec, then --set over it', async (t) => {
  const v = resolve([], ['nodeport.yaml']);
  t.same([v.profile, v.gateways.ingress.serviceType, v.gateways.egress.enabled, v.image, v.meshConfig.accessLogFile], ['default', 'NodePort', true, 'registry.local/minimesh:lab', '/dev/stdout']);
  t.same(v.warnings, [
    'nodeport.yaml: spec.meshConfig.enableTracing: not honoured by minimesh, ignored',
    'nodeport.yaml: spec.components.ingressGateways[0].k8s.resources.requests.cpu: not honoured by minimesh, ignored',
  ]);
  t.equal(resolve(['values.gateways.istio-ingressgateway.type=LoadBalancer'], ['nodeport.yaml']).gateways.ingress.serviceType, 'LoadBalancer');
});

t.test('keys Istio has that minimesh ignores: a warning naming key and origin', async (t) => {
  const v = resolve(['hub=docker.io/istio', 'tag=1.22.0', 'values.pilot.env.PILOT_ENABLE_ALPHA_GATEWAY_API=true', 'meshConfig.outboundTrafficPolicy.mode=REGISTRY_ONLY', 'components.cni.enabled=false']);
  t.same(v.warnings, [
    '--set hub: ignored: minimesh runs one image for every role (set values.global.proxy.image)',
    '--set tag: ignored: minimesh runs one image for every role (set values.global.proxy.image)',
    '--set values.pilot.env.PILOT_ENABLE_ALPHA_GATEWAY_API: not honoured by minimesh, ignored',
    '--set meshConfig.outboundTrafficPolicy.mode: not honoured by minimesh, ignored',
    '--set components.cni.enabled: not honoured by minimesh, ignored',
  ]);
});

t.test('refused: the message names the key and where it came from', async (t) => {
  const cases: [() => unknown, RegExp, string | undefined, string | undefined][] = [
    [() => resolve(['proflie=demo']), /^--set proflie: unknown field \(IstioOperator's spec has profile, /, 'proflie', '--set'],
    [() => resolve(['profile=production']), /^--set profile: unknown profile "production" \(profiles: default, demo, empty, minimal\)/, 'profile', '--set'],
    [() => resolve([], [], 'big'), /^--profile profile: unknown profile "big"/, 'profile', '--profile'],
    [() => resolve(['values.gateways.istio-ingressgateway.type=Public']), /^--set values\.gateways\.istio-ingressgateway\.type: expected one of LoadBalancer, NodePort, ClusterIP, got "Public"/, 'values.gateways.istio-ingressgateway.type', '--set'],
    [() => resolve(['meshConfig.acessLogFile=/dev/stdout']), /^--set meshConfig\.acessLogFile: unknown mesh config field "acessLogFile"/, 'meshConfig.acessLogFile', '--set'],
    [() => resolve(['values.globl.proxy.image=x']), /^--set values\.globl\.proxy\.image: unknown values section/, 'values.globl.proxy.image', '--set'],
    [() => resolve(['values.global.proxy.image=']), /expected an image reference/, 'values.global.proxy.image', '--set'],
    [() => resolve(['values.pilot.traceSampling=lots']), /expected a percentage from 0 to 100, got "lots"/, 'values.pilot.traceSampling', '--set'],
    [() => resolve(['values.pilot.autoscaleEnabled=yes']), /expected true or false, got "yes"/, 'values.pilot.autoscaleEnabled', '--set'],
    [() => resolve(['namespace=mesh']), /minimesh installs into istio-system only/, 'namespace', '--set'],
    [() => resolve(['revision=canary']), /minimesh installs the default revision only/, 'revision', '--set'],
    [() => resolve(['components.cni.enabled=true']), /minimesh has no cni component/, 'components.cni.enabled', '--set'],
    [() => resolve(['components.gateways.enabled=true']), /unknown component/, 'components.gateways.enabled', '--set'],
    [() => resolve(['components.ingressGateways[1].enabled=true']), /one gateway here, istio-ingressgateway: select it as \[0\] or \[name:istio-ingressgateway\]/, 'components.ingressGateways[1].enabled', '--set'],
    [() => resolve(['components.ingressGateways.enabled=true']), /is a list: write components\.ingressGateways\[0\]\.enabled/, 'components.ingressGateways.enabled', '--set'],
    [() => resolve(['components.egressGateways[0].name=my-egress']), /as istio-egressgateway only/, 'components.egressGateways[0].name', '--set'],
    [() => resolve(['profile.name=demo']), /^--set profile\.name: profile is a single value, not an object/, 'profile.name', '--set'],
    [() => resolve(['profile']), /^--set "profile": expected KEY=VALUE/, 'profile', '--set'],
    [() => resolve(['a..b=1']), /empty path segment/, 'a..b', '--set'],
    [() => resolve([], ['typo.yaml']), /^typo\.yaml: spec\.proflie: unknown field/, 'spec.proflie', 'typo.yaml'],
    [() => resolve([], ['wrong-kind.yaml']), /^wrong-kind\.yaml: expected apiVersion install\.istio\.io\/v1alpha1, kind IstioOperator; got apiVersion "v1", kind "ConfigMap"/, undefined, 'wrong-kind.yaml'],
    [() => resolve([], ['bad.yaml']), /^bad\.yaml: YAML syntax error at line \d+, column \d+/, undefined, 'bad.yaml'],
    [() => resolve([], ['extra.yaml']), /^extra\.yaml: status: unknown field/, 'status', 'extra.yaml'],
    [() => resolve([], ['empty.yaml']), /^empty\.yaml: no IstioOperator in the file/, undefined, 'empty.yaml'],
    [() => resolve([], ['missing.yaml']), /^missing\.yaml: cannot read: ENOENT/, undefined, 'missing.yaml'],
  ];
  for (const [fn, re, key, origin] of cases) {
    const e = refusal(fn);
    t.match(e.message, re, e.message);
    t.same([e.key, e.origin], [key, origin], `${e.message}: key and origin`);
  }
});
