/**
 * The control plane's monitoring port (Istio 15014):
 *   /ready                          200 once the source is loaded, xDS listens and the certificates exist
 *   /version                        the version, plain text (what Kiali reads)
 *   /metrics                        Prometheus text (metrics.ts)
 *   /debug/syncz                    every connected proxy: versions sent / ACKed per type, last NACK
 *   /debug/config_dump?proxyID=ID   what was generated for that proxy (node id, POD.NAMESPACE or POD)
 *   /debug/model                    the mesh model: services, endpoints, workloads, Istio config names
 */
import http from 'node:http';
import { MINIMESH_VERSION } from '@minimesh/mesh';
import { controlPlaneConfigDump } from './config-dump.js';
import { shortProxyName, syncz } from './syncz.js';
import type { ControlPlane } from './control-plane.js';
import { modelSummary } from './model-summary.js';
import { renderMetrics } from './metrics.js';

export const CONTROL_PLANE_VERSION = MINIMESH_VERSION;

function send(res: http.ServerResponse, status: number, body: unknown): void {
  const text = typeof body === 'string' ? body : `${JSON.stringify(body, null, 2)}\n`;
  res.writeHead(status, { 'content-type': typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json' });
  res.end(text);
}

/** The node id a `proxyID` names: the id itself, `POD.NAMESPACE`, or a pod name unique among proxies. */
export function resolveProxyId(ids: readonly string[], wanted: string): string | undefined {
  return ids.find((id) => id === wanted) ?? ids.find((id) => shortProxyName(id) === wanted) ?? (() => {
    const byPod = ids.filter((id) => shortProxyName(id).split('.')[0] === wanted);
    return byPod.length === 1 ? byPod[0] : undefined;
  })();
}

export function createDebugServer(cp: ControlPlane): http.Server {
  return http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://control-plane');
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'method not allowed\n');
    switch (url.pathname) {
      case '/ready':
        return cp.isReady ? send(res, 200, 'ready\n') : send(res, 503, 'not ready\n');
      case '/version':
        return send(res, 200, `${CONTROL_PLANE_VERSION}\n`);
      case '/metrics': {
        const gauges = { version: CONTROL_PLANE_VERSION, connectedProxies: cp.connectedProxies, services: cp.model.services.length, virtualServices: cp.model.virtualServices.length, rootCertExpiry: cp.security?.rootCertExpiry };
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
        return void res.end(renderMetrics(cp.metrics, gauges));
      }
      case '/debug/syncz':
        return send(res, 200, syncz(cp.syncStatus(), CONTROL_PLANE_VERSION));
      case '/debug/config_dump': {
        const wanted = url.searchParams.get('proxyID');
        if (!wanted) return send(res, 400, 'proxyID is required: /debug/config_dump?proxyID=POD.NAMESPACE\n');
        const id = resolveProxyId(cp.generatedIds(), wanted);
        const g = id === undefined ? undefined : cp.generatedFor(id);
        if (!g) return send(res, 404, `no config generated for proxy ${JSON.stringify(wanted)} (connected: ${cp.generatedIds().map(shortProxyName).join(', ') || 'none'})\n`);
        return send(res, 200, controlPlaneConfigDump(g));
      }
      case '/debug/model':
        return send(res, 200, modelSummary(cp.model, cp.pushCount));
      case '/debug':
      case '/':
        return send(res, 200, 'minimesh control plane\n  /ready\n  /version\n  /metrics\n  /debug/syncz\n  /debug/config_dump?proxyID=POD.NAMESPACE\n  /debug/model\n');
      default:
        return send(res, 404, 'not found\n');
    }
  });
}
