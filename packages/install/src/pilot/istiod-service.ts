/** Service `istiod`: xDS (plain and TLS), the webhooks on 443, monitoring, and the dashboard. */
import { ISTIOD_NAME, PORTS, WEBHOOK_SERVICE_PORT } from '@minimesh/mesh';
import type { IService } from 'kubernetes-models/v1/Service';
import { asKubeObject, type KubeObject } from '../types.js';
import type { InstallValues } from '../values/install-values.js';
import { ISTIOD_LABELS, ISTIOD_SELECTOR } from './istiod-labels.js';

/** Istio's ports and names (15012 is `https-dns` in Istio's Service), then the dashboard. */
export const ISTIOD_SERVICE_PORTS = [
  { name: 'grpc-xds', port: PORTS.xds, targetPort: PORTS.xds },
  { name: 'https-dns', port: PORTS.xdsTls, targetPort: PORTS.xdsTls },
  { name: 'https-webhook', port: WEBHOOK_SERVICE_PORT, targetPort: PORTS.webhook },
  { name: 'http-monitoring', port: PORTS.controlPlaneDebug, targetPort: PORTS.controlPlaneDebug },
  { name: 'http-dashboard', port: PORTS.dashboard, targetPort: PORTS.dashboard },
] as const;

export function renderIstiodService(v: InstallValues): KubeObject {
  const svc: IService = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: ISTIOD_NAME, namespace: v.namespace, labels: { ...ISTIOD_LABELS.service } },
    spec: {
      type: 'ClusterIP',
      ports: ISTIOD_SERVICE_PORTS.map((p) => ({ ...p, protocol: 'TCP' })),
      selector: { ...ISTIOD_SELECTOR },
    },
  };
  return asKubeObject(svc);
}
