/** The translation tests' one step: YAML manifests -> the mesh model -> one proxy's config. Not a test file. */
import { buildMeshModel, generateForProxy, loadManifests, proxyIdentity, type GenerateOptions, type MeshConfig } from '../../src/index.js';

/** A service `api` (port 8080, `http`) in `shop` with one ready pod: the destination of the translation tests' routes. */
export const API_SERVICE_YAML = `
apiVersion: v1
kind: Service
metadata: { name: api, namespace: shop }
spec:
  clusterIP: 10.96.1.1
  selector: { app: api }
  ports: [{ name: http, port: 8080 }]
---
apiVersion: v1
kind: Pod
metadata: { name: api-1, namespace: shop, labels: { app: api } }
spec: { containers: [{ name: api, ports: [{ containerPort: 8080 }] }] }
status: { podIP: 10.10.0.5, phase: Running, conditions: [{ type: Ready, status: "True" }] }
`;

/** The sidecar the translation tests generate for: `web-1` in `shop`. */
export const WEB_SIDECAR = 'sidecar~10.10.0.9~web-1.shop~shop.svc.cluster.local';

export function generateFromYaml(yaml: string, opts: { node?: string; labels?: Record<string, string>; generate?: GenerateOptions; meshConfig?: MeshConfig } = {}) {
  const { resources, issues } = loadManifests(yaml, 'test.yaml');
  const model = buildMeshModel(resources.map((r) => r.resource), opts.meshConfig ? { meshConfig: opts.meshConfig } : {});
  const proxy = proxyIdentity(opts.node ?? WEB_SIDECAR, { LABELS: opts.labels ?? { app: 'web' } }, model);
  const res = generateForProxy(model, proxy, opts.generate ?? {});
  return { res, issues, model };
}
