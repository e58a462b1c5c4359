/** Test fixtures: models from YAML files, addresses for Deployments' replicas. */
import fs from 'node:fs';
import path from 'node:path';
import { formatIssue, type KubeResource } from '@minimesh/kube';
import { fixtureSkip, SHARED_TESTDATA, type FailingTest } from '@minimesh/mesh/fixture-skip';
import { buildMeshModel, loadManifests, type MeshModel } from '../../src/index.js';

/** 10.<n>.0.<replica+1>, n counting Deployments in the order met: stable for a given input. */
export function makeDeploymentAddresses(): (ns: string, name: string, index: number) => string {
  const ids = new Map<string, number>();
  return (ns, name, index) => {
    const k = `${ns}/${name}`;
    if (!ids.has(k)) ids.set(k, ids.size + 1);
    return `10.${ids.get(k)}.0.${index + 1}`;
  };
}

export function makeResources(files: readonly string[]): { resources: KubeResource[]; issues: string[] } {
  const resources: KubeResource[] = [];
  const issues: string[] = [];
  for (const f of files) {
    const r = loadManifests(fs.readFileSync(f, 'utf8'), path.basename(f));
    resources.push(...r.resources.map((x) => x.resource));
    issues.push(...r.issues.map(formatIssue));
  }
  return { resources, issues };
}

export function makeModel(files: readonly string[]): { model: MeshModel; issues: string[] } {
  const { resources, issues } = makeResources(files);
  return { model: buildMeshModel(resources, { deploymentAddress: makeDeploymentAddresses() }), issues };
}

/** The source tree (tests run from dist/test). */
export const SOURCE_TEST_DIR = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../../test');
export const REPO_ROOT = path.resolve(SOURCE_TEST_DIR, '../..');
export const BOOKINFO = path.join(SHARED_TESTDATA, 'istio', 'bookinfo');

/** tap's `skip` for a test reading Istio's Bookinfo samples (see @minimesh/mesh/fixture-skip). */
export const bookinfoSkip = (t: FailingTest): string | false => fixtureSkip(t, BOOKINFO, "Istio's Bookinfo samples");
