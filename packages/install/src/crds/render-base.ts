/** The Base component ("Istio core"): Istio's CRDs and the reader ServiceAccount. */
import { serviceAccount } from '../kube-builders.js';
import { RELEASE_LABEL } from '../labels.js';
import type { KubeObject } from '../types.js';
import type { InstallValues } from '../values/install-values.js';
import { renderCrds } from './render-crds.js';

/** The ServiceAccount of readers of the mesh (multicluster secrets in Istio). */
export const READER_SERVICE_ACCOUNT = 'istio-reader-service-account';

export function renderBase(v: InstallValues): KubeObject[] {
  return [...renderCrds(), serviceAccount(READER_SERVICE_ACCOUNT, v.namespace, { app: 'istio-reader', ...RELEASE_LABEL })];
}
