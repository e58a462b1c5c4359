#!/usr/bin/env node
// Istio's "Request Timeouts" task on Bookinfo in the local mesh (../bookinfo/bookinfo.js),
// with the task's YAML in k8s/:
//   1. virtual-service-reviews-v2: reviews to v2, the version that calls ratings (black stars);
//   2. virtual-service-ratings-delay-2s: every call to ratings waits 2 s: the page still works,
//      but takes 2 s;
//   3. virtual-service-reviews-v2-timeout: calls to reviews time out after 0.5 s: the page comes
//      back in about 1 s (productpage tries reviews twice) saying the reviews are unavailable.
// `--exit` stops the mesh after the steps; otherwise it keeps running for you to try things.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PRODUCTPAGE_URL, finish, podOf, startBookinfo, subsetCluster, summarize, untilConfig, viaSleep } from '../bookinfo/bookinfo.js';

const k8s = path.join(path.dirname(fileURLToPath(import.meta.url)), 'k8s');
const { mesh, configDir, apply } = await startBookinfo('request-timeouts');
const productpage = podOf('productpage-v1');
const show = async () => {
  const r = await viaSleep(PRODUCTPAGE_URL);
  const text = r.body.split('\n').find((l) => l.includes('unavailable')) ?? summarize(r.body);
  console.log(`  the product page: ${String(r.ms).padStart(5)} ms  ${text.trim()}`);
};
try {
  apply(path.join(k8s, 'virtual-service-reviews-v2.yaml'));
  await untilConfig(productpage, [subsetCluster('reviews', 'v2')], [subsetCluster('reviews')]);
  await show();

  apply(path.join(k8s, 'virtual-service-ratings-delay-2s.yaml'));
  await untilConfig(podOf('reviews-v2'), ['fixed_delay', '"2s"']);
  await show();

  apply(path.join(k8s, 'virtual-service-reviews-v2-timeout.yaml'));
  await untilConfig(productpage, ['"timeout":"0.5']);
  await show();
  await finish(mesh, configDir, [`curl -s -x ${productpage.ip}:15001 -o /dev/null -w '%{http_code} %{time_total}s\\n' http://reviews:9080/reviews/0     # reviews alone: 504 after 0.5 s`]);
} catch (e) {
  console.error(e.message);
  await mesh.stop(1);
}
