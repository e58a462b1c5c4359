#!/usr/bin/env node
// Istio's "Traffic Shifting" task on Bookinfo in the local mesh (../bookinfo/bookinfo.js):
//   0. virtual-service-all-v1: every request to reviews v1 (no stars);
//   1. virtual-service-reviews-50-v3: half of the requests to v1, half to v3 (red stars);
//   2. virtual-service-reviews-v3: every request to v3.
// `--exit` stops the mesh after the steps; otherwise it keeps running for you to try things.
import path from 'node:path';
import { NETWORKING, finish, podOf, startBookinfo, subsetCluster, tally, untilConfig } from '../bookinfo/bookinfo.js';

const { mesh, configDir, apply } = await startBookinfo('traffic-shifting');
const productpage = podOf('productpage-v1');
try {
  apply(path.join(NETWORKING, 'virtual-service-all-v1.yaml'));
  await untilConfig(productpage, [subsetCluster('reviews', 'v1')], [subsetCluster('reviews')]);
  console.log(`20 requests: ${await tally(20)}\n`);

  apply(path.join(NETWORKING, 'virtual-service-reviews-50-v3.yaml'));
  await untilConfig(productpage, [subsetCluster('reviews', 'v3'), 'weighted_clusters']);
  console.log(`100 requests: ${await tally(100)}\n`);

  apply(path.join(NETWORKING, 'virtual-service-reviews-v3.yaml'));
  await untilConfig(productpage, [subsetCluster('reviews', 'v3')], [subsetCluster('reviews', 'v1'), 'weighted_clusters']);
  console.log(`20 requests: ${await tally(20)}`);
  await finish(mesh, configDir);
} catch (e) {
  console.error(e.message);
  await mesh.stop(1);
}
