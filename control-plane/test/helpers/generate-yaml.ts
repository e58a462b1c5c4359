/** The translation tests' one step: YAML manifests -> the mesh model -> one proxy's config. Not a test file. */
import { buildMeshModel, generateForProxy, loadManifests, proxyIdentity, type GenerateOptions, type MeshConfig } from '../../src/index.js';

/** The sidecar the translation tests generate for: `web-1` in `shop`. */
export const WEB_SIDECAR = 'sidecar~10.10.0.9~web-1.shop~shop.svc.cluster.local';

export function generateFromYaml(yaml: string, opts: { node?: string; labels?: Record<string, string>; generate?: GenerateOptions; meshConfig?: MeshConfig } = {}) {
  const { resources, issues } = loadManifests(yaml, 'test.yaml');
  const model = buildMeshModel(resources.map((r) => r.resource), opts.meshConfig ? { meshConfig: opts.meshConfig } : {});
  const proxy = proxyIdentity(opts.node ?? WEB_SIDECAR, { LABELS: opts.labels ?? { app: 'web' } }, model);
  const res = generateForProxy(model, proxy, opts.generate ?? {});
  return { res, issues, model };
}
