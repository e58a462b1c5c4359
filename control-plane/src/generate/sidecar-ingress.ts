/**
 * The Sidecar resource's `ingress` listeners (Istio's explicit inbound): when the Sidecar that
 * applies to a proxy declares `ingress`, its inbound side has exactly those ports instead of the
 * ones derived from the services that select the workload, each
 *   - listening on the port (`port.number`), as HTTP or TCP by `port.protocol` (Istio's names;
 *     none or an unknown one: sniffed, as an unnamed service port);
 *   - sending to `defaultEndpoint` through `inbound|PORT||`: `127.0.0.1:APP` (the app's
 *     loopback, the usual form), `0.0.0.0:APP` (the workload's own address), or an IP;
 *     absent: the app on the same port;
 *   - `bind`: the listener's address where the sidecar binds one per port (without capture).
 * What does not apply is warned and left out: `unix://` endpoints (the proxy dials TCP only),
 * a per-listener `captureMode` (the proxy's own capture decides for all its ports), `tls` and
 * `connectionPool` (not translated by minimesh).
 */
import { parseProtocol, type Protocol } from '@minimesh/kube';
import type { MeshModel } from '../model/mesh-model.js';
import type { ProxyIdentity } from '../model/proxy-identity.js';
import { sidecarFor } from '../model/sidecar-scope.js';

/** One inbound port of the workload: where it listens and where the app is. */
export interface InboundPortPlan {
  readonly port: number;
  /** undefined: no service says (sniffed). */
  readonly protocol: Protocol | undefined;
  readonly appAddress: string;
  readonly appPort: number;
  /** The listener's address (Sidecar ingress `bind`); absent: the workload's address. */
  readonly bind?: string;
}

interface IngressEntry {
  port?: { number?: number; protocol?: string; name?: string };
  bind?: string;
  captureMode?: string;
  defaultEndpoint?: string;
  tls?: unknown;
  connectionPool?: unknown;
}

const IP_PORT = /^(?:\[([0-9a-fA-F:.]+)\]|(\d{1,3}(?:\.\d{1,3}){3})):(\d{1,5})$/;

/** The Sidecar's ingress ports for `proxy` (see above); undefined when its Sidecar declares none (the derived ports apply). */
export function sidecarIngressPlan(model: MeshModel, proxy: ProxyIdentity, warnings: string[]): InboundPortPlan[] | undefined {
  const sc = sidecarFor(model, proxy);
  const entries = (sc?.spec?.ingress ?? []) as IngressEntry[];
  if (sc === undefined || entries.length === 0) return undefined;
  const ref = `Sidecar ${sc.metadata.namespace ?? 'default'}/${sc.metadata.name}`;
  const out: InboundPortPlan[] = [];
  entries.forEach((e, i) => {
    const where = `${ref} ingress[${i}]`;
    const port = e.port?.number;
    if (port === undefined || !Number.isInteger(port) || port < 1 || port > 65535) {
      warnings.push(`${where}: port.number is required (1-65535); the listener is left out`);
      return;
    }
    if (out.some((p) => p.port === port)) {
      warnings.push(`${where}: port ${port} is declared twice; the first one applies`);
      return;
    }
    if (e.captureMode !== undefined && e.captureMode !== 'DEFAULT') warnings.push(`${where}: captureMode ${e.captureMode} is not per listener in minimesh: the proxy's own capture applies to port ${port}`);
    if (e.tls !== undefined) warnings.push(`${where}: tls is not translated by minimesh: port ${port} is served as the mesh serves it (no TLS termination of its own)`);
    if (e.connectionPool !== undefined) warnings.push(`${where}: connectionPool is not translated by minimesh`);
    const protocol = e.port?.protocol === undefined ? undefined : parseProtocol(e.port.protocol);
    let appAddress = '127.0.0.1';
    let appPort = port;
    const ep = e.defaultEndpoint;
    if (ep !== undefined) {
      if (ep.startsWith('unix://')) {
        warnings.push(`${where}: defaultEndpoint ${ep}: unix domain sockets are not supported by minimesh (its proxy dials TCP); port ${port} is left out`);
        return;
      }
      const m = IP_PORT.exec(ep);
      const n = m === null ? NaN : Number(m[3]);
      if (m === null || !(n >= 1 && n <= 65535)) {
        warnings.push(`${where}: defaultEndpoint ${JSON.stringify(ep)} must be IP:PORT (127.0.0.1:PORT, 0.0.0.0:PORT) or unix:///path; port ${port} is left out`);
        return;
      }
      const ip = m[1] ?? m[2]!;
      appAddress = ip === '0.0.0.0' || ip === '::' ? proxy.ip : ip;
      appPort = n;
    }
    out.push({ port, protocol: protocol === 'Unsupported' ? undefined : protocol, appAddress, appPort, ...(e.bind !== undefined ? { bind: e.bind } : {}) });
  });
  return out;
}
