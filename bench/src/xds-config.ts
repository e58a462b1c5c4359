// The mesh config bench:xds serves: a Bookinfo-like set of Services, Pods, a DestinationRule
// and the `reviews` VirtualService whose weights the bench flips (v1 100 / v2 0 -> 0 / 100).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const SERVICES: readonly { name: string; versions: readonly string[] }[] = [
  { name: 'productpage', versions: ['v1'] },
  { name: 'details', versions: ['v1'] },
  { name: 'reviews', versions: ['v1', 'v2', 'v3'] },
  { name: 'ratings', versions: ['v1'] },
];

export const VS_FILE = 'reviews-virtualservice.yaml';

/** Services and Pods (2 per version) and the DestinationRule with subsets v1..v3 */
export function platformYaml(): string {
  const docs: string[] = [];
  SERVICES.forEach((s, si) => {
    docs.push(`apiVersion: v1
kind: Service
metadata: { name: ${s.name}, namespace: default, labels: { app: ${s.name} } }
spec:
  clusterIP: 10.96.0.${10 + si}
  selector: { app: ${s.name} }
  ports:
  - { name: http, port: 9080, targetPort: 9080 }`);
    s.versions.forEach((v, vi) => {
      for (let k = 0; k < 2; k++) {
        docs.push(`apiVersion: v1
kind: Pod
metadata: { name: ${s.name}-${v}-${k}, namespace: default, labels: { app: ${s.name}, version: ${v} } }
spec: { containers: [{ name: ${s.name}, ports: [{ containerPort: 9080 }] }] }
status: { podIP: 10.10.${si}.${vi * 10 + k + 1}, phase: Running }`);
      }
    });
  });
  docs.push(`apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: reviews, namespace: default }
spec:
  host: reviews
  subsets:
  - { name: v1, labels: { version: v1 } }
  - { name: v2, labels: { version: v2 } }
  - { name: v3, labels: { version: v3 } }`);
  return `${docs.join('\n---\n')}\n`;
}

/** the `reviews` VirtualService: weight to subset v1, the rest to v2 */
export function reviewsVsYaml(v1Weight: number): string {
  return `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: reviews, namespace: default }
spec:
  hosts: [reviews]
  http:
  - route:
    - destination: { host: reviews, subset: v1 }
      weight: ${v1Weight}
    - destination: { host: reviews, subset: v2 }
      weight: ${100 - v1Weight}
`;
}

/** writes the initial folder (reviews 100 % v1) */
export function writeConfigDir(dir: string): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'bookinfo.yaml'), platformYaml());
  writeFileSync(join(dir, VS_FILE), reviewsVsYaml(100));
}
