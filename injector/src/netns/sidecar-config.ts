/**
 * Where the sidecars' config comes from: minimesh's control plane, as in a cluster. It runs in
 * its own network namespace (istiod's place) on the echo lab's YAML (examples/echo/k8s/: the
 * `client` namespace, `echo-service` port 80 -> 5678, the two Deployments), with two additions
 * the API server would hold: the Service's cluster IP and the two Pods with the IPs of their
 * network namespaces (which give echo-service its endpoint). It runs with `--capture`, so each
 * sidecar gets Istio's virtualOutbound (15001) and virtualInbound (15006) listeners. Each
 * sidecar runs `minimesh proxy --xds CONTROL_PLANE:15010` with its pod identity in the
 * environment the injector sets (POD_NAME, POD_NAMESPACE, INSTANCE_IP, labels as
 * ISTIO_METAJSON_LABELS), and the control plane generates its config for that identity.
 * Each pod has its own service account and token (what the projected `istio-token` is in a
 * cluster): the control plane runs with `--workload-tokens` and issues each sidecar its
 * certificate (`spiffe://cluster.local/ns/client/sa/SA`), so the sidecars speak mutual TLS.
 */
import { DEFAULT_PROXY_CONCURRENCY } from '../inject-options.js';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { inPod, waitFor, type NetnsPod, type NetnsTopology, type Run } from './netns-pods.js';

/** injector/dist/src/netns -> the repository. */
const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');
export const LAB_DIR = join(REPO, 'examples', 'echo', 'k8s');
export const MINIMESH = join(REPO, 'packages', 'cli', 'bin', 'minimesh.js');

/** The echo lab's names and ports (examples/echo/k8s/backend.yaml). */
export const LAB = {
  namespace: 'client',
  service: 'echo-service',
  host: 'echo-service.client.svc.cluster.local',
  /** Added to the lab's Service: the address apps call (no kube-proxy here: only the sidecar knows it). */
  clusterIP: '10.96.0.80',
  servicePort: 80,
  /** The Service's targetPort: the echo app listens here. */
  targetPort: 5678,
  /** A second Service, TCP by its port name, to another port of the echo app. */
  tcp: { service: 'echo-tcp', clusterIP: '10.96.0.81', port: 9000, targetPort: 5679 },
  /** The second Service's other port, named without a protocol: sniffed (Istio's auto port). */
  auto: { port: 7000, targetPort: 5680 },
} as const;

export const XDS_PORT = 15010;
export const CONTROL_PLANE_DEBUG_PORT = 15014;
export const HEALTH_PORT = 15021;
/** How long a program of the mesh may take to start and become ready: a backstop under load. */
export const START_TIMEOUT_MS = 60_000;

export interface SidecarLaunch {
  /** Arguments after `minimesh proxy`. */
  readonly args: string[];
  /** The environment the injector gives istio-proxy. */
  readonly env: Record<string, string>;
}

export interface SidecarConfigSource {
  /** Starts whatever serves the sidecars' config; resolves once it serves. */
  start(topology: NetnsTopology): Promise<void>;
  sidecar(topology: NetnsTopology, pod: NetnsPod): SidecarLaunch;
}

/** The service accounts of the two pods. */
export const SERVICE_ACCOUNTS = { client: 'client-app', echo: 'echo-app' } as const;
/** The SPIFFE id a pod's sidecar presents (the mesh's trust domain is cluster.local). */
export const spiffeOf = (sa: string): string => `spiffe://cluster.local/ns/${LAB.namespace}/sa/${sa}`;
/** Istio's label telling clients the pod's sidecar takes mTLS (the injector sets it). */
const TLS_MODE_LABEL = 'security.istio.io/tlsMode';

/** A pod's Kubernetes identity: `echo-deployment-netns-<5 chars>` in namespace `client`, label `app`. */
export function podIdentity(topology: NetnsTopology, pod: NetnsPod): { podName: string; namespace: string; labels: Record<string, string>; serviceAccount: string } {
  const app = pod === topology.echo ? 'echo' : 'client';
  // Deployment-made names (`<deployment>-<hash>-<5>`): the proxy's node cluster becomes `<deployment>.client`.
  const suffix = topology.client.ns.replace(/^mm-client-/, '').toLowerCase().replace(/[^a-z0-9]/g, '').padStart(5, '0').slice(-5);
  return { podName: `${app}-deployment-netns-${suffix}`, namespace: LAB.namespace, labels: { app }, serviceAccount: SERVICE_ACCOUNTS[app] };
}

/** The control plane's config folder: the lab's YAML, its Service with a cluster IP, and the Pods. */
export function labConfig(topology: NetnsTopology): Record<string, string> {
  const read = (f: string): string => readFileSync(join(LAB_DIR, f), 'utf8');
  const backend = YAML.parseAllDocuments(read('backend.yaml'));
  const client = YAML.parseAllDocuments(read('client.yaml'));
  for (const doc of [...backend, ...client]) {
    if (doc.get('kind') === 'Service' && doc.getIn(['metadata', 'name']) === LAB.service) doc.setIn(['spec', 'clusterIP'], LAB.clusterIP);
    // Each Deployment runs as its own service account (its pods' identity in the mesh).
    if (doc.get('kind') === 'Deployment') doc.setIn(['spec', 'template', 'spec', 'serviceAccountName'], doc.getIn(['metadata', 'name']) === 'echo-deployment' ? SERVICE_ACCOUNTS.echo : SERVICE_ACCOUNTS.client);
  }
  const pod = (p: NetnsPod, container: object): object => {
    const id = podIdentity(topology, p);
    const metadata = { name: id.podName, namespace: id.namespace, labels: { ...id.labels, [TLS_MODE_LABEL]: 'istio' } };
    return { apiVersion: 'v1', kind: 'Pod', metadata, spec: { serviceAccountName: id.serviceAccount, containers: [container] }, status: { podIP: p.ip, phase: 'Running' } };
  };
  const { tcp } = LAB;
  const tcpService = { apiVersion: 'v1', kind: 'Service', metadata: { name: tcp.service, namespace: LAB.namespace }, spec: { clusterIP: tcp.clusterIP, selector: { app: 'echo' }, ports: [{ name: 'tcp-echo', port: tcp.port, targetPort: tcp.targetPort }, { name: 'custom', port: LAB.auto.port, targetPort: LAB.auto.targetPort }] } };
  const pods = [
    pod(topology.echo, { name: 'echo', image: 'hashicorp/http-echo', ports: [{ containerPort: LAB.targetPort }, { containerPort: tcp.targetPort }, { containerPort: LAB.auto.targetPort }] }),
    pod(topology.client, { name: 'client', image: 'curlimages/curl' }),
  ];
  return {
    'namespace.yaml': read('namespace.yaml'),
    'backend.yaml': `# examples/echo/k8s/backend.yaml with a cluster IP (the API server would assign one) and a service account\n${backend.map((d) => d.toString()).join('---\n')}`,
    'echo-tcp.yaml': `# The echo app's other ports behind a second Service: tcp-* (proxied as TCP) and one named without a protocol (sniffed)\n${YAML.stringify(tcpService)}`,
    'client.yaml': `# examples/echo/k8s/client.yaml with a service account\n${client.map((d) => d.toString()).join('---\n')}`,
    'pods.yaml': `# The pods as the API server would hold them: the IPs of the test's network namespaces\n${pods.map((p) => YAML.stringify(p)).join('---\n')}`,
  };
}

/** One proxy's line of /debug/syncz (the fields the tests read). */
export interface SynczEntry {
  readonly proxy: string;
  readonly name: string;
  readonly types: Record<'CDS' | 'LDS' | 'EDS' | 'RDS', { state: string }>;
}

/** `minimesh control-plane --capture --workload-tokens FILE` in the control plane's namespace. */
export class ControlPlaneSource implements SidecarConfigSource {
  configDir = '';
  /** Each pod's token file (readable by its sidecar, uid 1337). */
  private readonly tokenFiles = new Map<NetnsPod, string>();

  async start(topology: NetnsTopology): Promise<void> {
    for (const [name, text] of Object.entries(labConfig(topology))) this.configDir = dirname(topology.writeFile(join('config', name), text));
    // What the projected tokens and TokenReview are in a cluster: a random token per pod, and
    // the file that tells the control plane whose it is.
    const tokens: Record<string, { namespace: string; serviceAccount: string }> = {};
    for (const pod of [topology.client, topology.echo]) {
      const token = randomBytes(24).toString('hex');
      tokens[token] = { namespace: LAB.namespace, serviceAccount: podIdentity(topology, pod).serviceAccount };
      this.tokenFiles.set(pod, topology.writeFile(join('tokens', `${pod.name}-istio-token`), token));
    }
    const tokensFile = topology.writeFile(join('control-plane', 'workload-tokens.json'), JSON.stringify(tokens));
    const cp = topology.controlPlane;
    const node = process.execPath;
    topology.start(cp, undefined, [
      node, MINIMESH, 'control-plane', '--config-dir', this.configDir, '--capture', '--workload-tokens', tokensFile,
      '--xds-address', `0.0.0.0:${XDS_PORT}`, '--debug-address', `127.0.0.1:${CONTROL_PLANE_DEBUG_PORT}`,
    ]);
    // Generous: a loaded machine starts node slowly; a control plane that died ends the wait at once.
    const ready = (): boolean => inPod(cp, undefined, ['curl', '-sf', '--max-time', '2', '-o', '/dev/null', `http://127.0.0.1:${CONTROL_PLANE_DEBUG_PORT}/ready`]).code === 0;
    await waitFor('the control plane (/ready)', ready, START_TIMEOUT_MS, () => topology.exited());
  }

  sidecar(topology: NetnsTopology, pod: NetnsPod): SidecarLaunch {
    const id = podIdentity(topology, pod);
    return {
      // Worker processes as the injector gives a pod's sidecar: capture (SO_ORIGINAL_DST) is read in each worker.
      args: ['--xds', `${topology.controlPlaneAddress(pod)}:${XDS_PORT}`, '--health-port', String(HEALTH_PORT), '--ca-token-file', this.tokenFiles.get(pod) ?? '', '--concurrency', String(DEFAULT_PROXY_CONCURRENCY)],
      env: {
        POD_NAME: id.podName,
        POD_NAMESPACE: id.namespace,
        INSTANCE_IP: pod.ip,
        SERVICE_ACCOUNT: id.serviceAccount,
        ISTIO_METAJSON_LABELS: JSON.stringify(id.labels),
      },
    };
  }

  /** Writes (or replaces) a file of the control plane's config folder: it re-reads the folder on its own. */
  push(topology: NetnsTopology, name: string, text: string): void {
    topology.writeFile(join('config', name), text);
  }

  /** GET on the control plane's debug server (from inside its namespace). */
  debug(topology: NetnsTopology, path: string): string {
    return inPod(topology.controlPlane, undefined, ['curl', '-s', '--max-time', '5', `http://127.0.0.1:${CONTROL_PLANE_DEBUG_PORT}${path}`]).stdout;
  }

  syncz(topology: NetnsTopology): SynczEntry[] {
    try {
      return JSON.parse(this.debug(topology, '/debug/syncz')) as SynczEntry[];
    } catch {
      return [];
    }
  }

  /** `minimesh proxy-status` against this control plane. */
  proxyStatus(topology: NetnsTopology): Run {
    return inPod(topology.controlPlane, undefined, [process.execPath, MINIMESH, 'proxy-status', '--control-plane', `127.0.0.1:${CONTROL_PLANE_DEBUG_PORT}`]);
  }
}

/** The hosts file of a pod: the echo service's names at its cluster IP, as kube-dns answers them. */
export function labHosts(): string {
  return `127.0.0.1 localhost\n${LAB.clusterIP} ${LAB.host} ${LAB.service}.${LAB.namespace}.svc ${LAB.service}.${LAB.namespace} ${LAB.service}\n`;
}
