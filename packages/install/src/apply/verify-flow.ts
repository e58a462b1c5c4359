/**
 * `minimesh verify-install`, as istioctl's (1.23 and before): renders what the installed
 * values give and checks each object is there and ready; CRDs and Deployments are counted.
 */
import type { Writable } from 'node:stream';
import { DEFAULT_REVISION } from '@minimesh/mesh';
import type { RenderedComponent } from '../index.js';
import type { KubeApi } from './kube-api.js';
import { notReadyReason } from './readiness.js';

export interface VerifyRun {
  readonly api: KubeApi;
  readonly components: readonly RenderedComponent[];
  readonly out: Writable;
}

export async function runVerify(r: VerifyRun): Promise<number> {
  const objs = r.components.flatMap((c) => c.objects);
  if (objs.length === 0) {
    r.out.write('! No minimesh installation found\n');
    return 1;
  }
  r.out.write(`1 minimesh control planes detected, checking --revision "${DEFAULT_REVISION}" only\n`);
  let failures = 0;
  let crds = 0;
  let deployments = 0;
  for (const o of objs) {
    const live = await r.api.get(o.apiVersion, o.kind, o.metadata.name, o.metadata.namespace);
    const why = !live ? 'not found' : notReadyReason(live);
    const name = `${o.kind}: ${o.metadata.name}.${o.metadata.namespace ?? ''}`;
    if (why) {
      failures++;
      r.out.write(`✘ ${name}: ${why}\n`);
      continue;
    }
    if (o.kind === 'CustomResourceDefinition') crds++;
    else {
      if (o.kind === 'Deployment') deployments++;
      r.out.write(`✔ ${name} checked successfully\n`);
    }
  }
  r.out.write(`Checked ${crds} custom resource definitions\nChecked ${deployments} minimesh Deployments\n`);
  if (failures > 0) {
    r.out.write(`✘ minimesh installation failed verification: ${failures} object${failures === 1 ? '' : 's'} missing or not ready\n`);
    return 1;
  }
  r.out.write('✔ minimesh is installed and verified successfully\n');
  return 0;
}
