/**
 * A gateway component: ServiceAccount, the Role that lets it read TLS Secrets, Service,
 * Deployment, and (Istio ≤1.27) a disruption budget; with autoscaling, an HPA.
 */
import type { IService } from 'kubernetes-models/v1/Service';
import { cpuAutoscaler, disruptionBudget, role, roleBinding, serviceAccount } from '../kube-builders.js';
import { asKubeObject, type KubeObject } from '../types.js';
import type { InstallValues } from '../values/install-values.js';
import { renderGatewayDeployment } from './gateway-deployment.js';
import { gatewayLabels, gatewaySelector } from './gateway-labels.js';
import type { GatewaySpec } from './gateway-spec.js';

export function renderGatewayService(g: GatewaySpec, v: InstallValues): KubeObject {
  const svc: IService = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: g.name, namespace: v.namespace, labels: gatewayLabels(g) },
    spec: {
      type: g.values.serviceType,
      selector: gatewaySelector(g),
      ports: g.ports.map((p) => ({ name: p.name, port: p.port, protocol: 'TCP', targetPort: p.targetPort })),
    },
  };
  return asKubeObject(svc);
}

/** In Helm's install order: budget, account, RBAC, Service, Deployment, autoscaler. */
export function renderGateway(g: GatewaySpec, v: InstallValues): KubeObject[] {
  const labels = gatewayLabels(g);
  return [
    disruptionBudget(g.name, v.namespace, labels, gatewaySelector(g)),
    serviceAccount(g.serviceAccount, v.namespace, labels),
    role(g.sdsRole, v.namespace, labels, [{ apiGroups: [''], resources: ['secrets'], verbs: ['get', 'watch', 'list'] }]),
    roleBinding(g.sdsRole, v.namespace, labels, g.sdsRole, g.serviceAccount),
    renderGatewayService(g, v),
    renderGatewayDeployment(g, v),
    ...(g.values.autoscaleEnabled ? [cpuAutoscaler(g.name, v.namespace, labels)] : []),
  ];
}
