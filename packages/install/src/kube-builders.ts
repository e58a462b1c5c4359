/**
 * Small builders of the plain Kubernetes objects every component has (ServiceAccounts, RBAC,
 * autoscalers, disruption budgets), typed with kubernetes-models' interfaces.
 */
import type { IServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import type { IRole } from 'kubernetes-models/rbac.authorization.k8s.io/v1/Role';
import type { IRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding';
import type { IClusterRole } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRole';
import type { IClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRoleBinding';
import type { IPolicyRule } from 'kubernetes-models/rbac.authorization.k8s.io/v1/PolicyRule';
import type { IHorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import type { IPodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { asKubeObject, type KubeObject } from './types.js';

export type Labels = Record<string, string>;
export type PolicyRule = IPolicyRule;

export function serviceAccount(name: string, namespace: string, labels: Labels): KubeObject {
  const sa: IServiceAccount = { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace, labels: { ...labels } } };
  return asKubeObject(sa);
}

const subject = (sa: string, namespace: string) => ({ kind: 'ServiceAccount', name: sa, namespace });

export function role(name: string, namespace: string, labels: Labels, rules: PolicyRule[]): KubeObject {
  const r: IRole = { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name, namespace, labels: { ...labels } }, rules };
  return asKubeObject(r);
}

export function roleBinding(name: string, namespace: string, labels: Labels, roleName: string, sa: string): KubeObject {
  const b: IRoleBinding = {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name, namespace, labels: { ...labels } },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: roleName },
    subjects: [subject(sa, namespace)],
  };
  return asKubeObject(b);
}

export function clusterRole(name: string, labels: Labels, rules: PolicyRule[]): KubeObject {
  const r: IClusterRole = { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name, labels: { ...labels } }, rules };
  return asKubeObject(r);
}

export function clusterRoleBinding(name: string, labels: Labels, roleName: string, sa: string, saNamespace: string): KubeObject {
  const b: IClusterRoleBinding = {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name, labels: { ...labels } },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: roleName },
    subjects: [subject(sa, saNamespace)],
  };
  return asKubeObject(b);
}

/** Istio's autoscaler: 1 to 5 replicas at 80% CPU. */
export const HPA_LIMITS = { minReplicas: 1, maxReplicas: 5, cpuUtilization: 80 } as const;

export function cpuAutoscaler(deployment: string, namespace: string, labels: Labels): KubeObject {
  const hpa: IHorizontalPodAutoscaler = {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: { name: deployment, namespace, labels: { ...labels } },
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: deployment },
      minReplicas: HPA_LIMITS.minReplicas,
      maxReplicas: HPA_LIMITS.maxReplicas,
      metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: HPA_LIMITS.cpuUtilization } } }],
    },
  };
  return asKubeObject(hpa);
}

/** Istio ≤1.27 always gives istiod and each gateway a `minAvailable: 1` budget (facts §0). */
export function disruptionBudget(name: string, namespace: string, labels: Labels, selector: Labels): KubeObject {
  const pdb: IPodDisruptionBudget = {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: { name, namespace, labels: { ...labels } },
    spec: { minAvailable: 1, selector: { matchLabels: { ...selector } } },
  };
  return asKubeObject(pdb);
}
