/**
 * The control plane's own metrics in Prometheus text (`GET /metrics` on the debug port),
 * named as istiod's where the meaning is the same:
 *   pilot_xds_pushes{type}               responses sent, by xDS type (cds, eds, lds, rds)
 *   pilot_total_xds_rejects{type}        responses a proxy rejected (NACK)
 *   pilot_xds{version}                   proxies connected now
 *   pilot_k8s_cfg_events{type,event}     Istio config seen changing in the Kubernetes API
 *   pilot_k8s_reg_events{type,event}     other Kubernetes objects (Services, Pods, ...) changing
 *   pilot_services, pilot_virt_services  what the current model holds
 *   citadel_server_root_cert_expiry_timestamp  when the CA's root expires (unix seconds)
 *   istio_build{component="pilot",tag}   the version
 */
import { CDS, EDS, LDS, RDS, SDS } from '@minimesh/xds';

const TYPE_LABEL: Record<string, string> = { [CDS]: 'cds', [EDS]: 'eds', [LDS]: 'lds', [RDS]: 'rds', [SDS]: 'sds' };
const EVENT_LABEL: Record<string, string> = { ADDED: 'add', MODIFIED: 'update', DELETED: 'delete' };

const typeLabel = (typeUrl: string): string => TYPE_LABEL[typeUrl] ?? typeUrl;
const bump = (m: Map<string, number>, k: string): void => void m.set(k, (m.get(k) ?? 0) + 1);

export class ControlPlaneMetrics {
  readonly pushes = new Map<string, number>();
  readonly rejects = new Map<string, number>();
  /** Keyed `kind\tevent`. */
  readonly configEvents = new Map<string, number>();
  readonly registryEvents = new Map<string, number>();

  countPush(typeUrl: string): void {
    bump(this.pushes, typeLabel(typeUrl));
  }

  countReject(typeUrl: string): void {
    bump(this.rejects, typeLabel(typeUrl));
  }

  /** A watch event of the Kubernetes source: Istio's kinds are config, the rest registry. */
  countKubeEvent(kind: string, apiVersion: string, type: string): void {
    const event = EVENT_LABEL[type];
    if (!event) return;
    bump(apiVersion.includes('.istio.io/') ? this.configEvents : this.registryEvents, `${kind}\t${event}`);
  }
}

export interface MetricsGauges {
  readonly version: string;
  readonly connectedProxies: number;
  readonly services: number;
  readonly virtualServices: number;
  readonly rootCertExpiry?: Date;
}

const esc = (v: string): string => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
const labels = (l: Record<string, string>): string => `{${Object.entries(l).map(([k, v]) => `${k}="${esc(v)}"`).join(',')}}`;

function family(out: string[], name: string, type: 'counter' | 'gauge', help: string, samples: [Record<string, string>, number][]): void {
  out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
  for (const [l, v] of samples) out.push(`${name}${Object.keys(l).length ? labels(l) : ''} ${v}`);
}

const sorted = <T>(m: Map<string, T>): [string, T][] => [...m].sort(([a], [b]) => a.localeCompare(b));

export function renderMetrics(m: ControlPlaneMetrics, g: MetricsGauges): string {
  const out: string[] = [];
  family(out, 'istio_build', 'gauge', 'The version of this control plane.', [[{ component: 'pilot', tag: g.version }, 1]]);
  family(out, 'pilot_xds', 'gauge', 'Proxies connected to the control plane now.', [[{ version: g.version }, g.connectedProxies]]);
  family(out, 'pilot_xds_pushes', 'counter', 'xDS responses sent to proxies, by type.', sorted(m.pushes).map(([type, v]) => [{ type }, v]));
  family(out, 'pilot_total_xds_rejects', 'counter', 'xDS responses proxies rejected (NACK), by type.', sorted(m.rejects).map(([type, v]) => [{ type }, v]));
  const events = (em: Map<string, number>): [Record<string, string>, number][] =>
    sorted(em).map(([k, v]) => {
      const [type, event] = k.split('\t');
      return [{ event, type }, v];
    });
  family(out, 'pilot_k8s_cfg_events', 'counter', 'Changes of Istio configuration seen in the Kubernetes API.', events(m.configEvents));
  family(out, 'pilot_k8s_reg_events', 'counter', 'Changes of other Kubernetes objects (Services, Pods, ...) seen in the Kubernetes API.', events(m.registryEvents));
  family(out, 'pilot_services', 'gauge', 'Services in the current mesh model.', [[{}, g.services]]);
  family(out, 'pilot_virt_services', 'gauge', 'VirtualServices in the current mesh model.', [[{}, g.virtualServices]]);
  if (g.rootCertExpiry) {
    family(out, 'citadel_server_root_cert_expiry_timestamp', 'gauge', 'When the root certificate of the control plane\'s CA expires (unix seconds).', [[{}, Math.floor(g.rootCertExpiry.getTime() / 1000)]]);
  }
  return `${out.join('\n')}\n`;
}
