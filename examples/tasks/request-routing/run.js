#!/usr/bin/env node
// Istio's "Request Routing" task on Bookinfo in the local mesh (../bookinfo/bookinfo.js):
//   0. no VirtualService: reviews answers from v1, v2 and v3 in turn;
//   1. virtual-service-all-v1: every service to v1, so the page never shows stars;
//   2. virtual-service-reviews-test-v2: the user jason (end-user header) gets reviews v2
//      (black stars), everyone else still v1.
// `--exit` stops the mesh after the steps; otherwise it keeps running for you to try things.
import path from 'node:path';
import { NETWORKING, PRODUCTPAGE_URL, finish, podOf, startBookinfo, subsetCluster, tally, untilConfig, viaSleep } from '../bookinfo/bookinfo.js';

const N = 20;
const { mesh, configDir, apply } = await startBookinfo('request-routing');
const productpage = podOf('productpage-v1');
try {
  console.log(`Before any VirtualService, ${N} requests to the product page: ${await tally(N)}\n`);

  apply(path.join(NETWORKING, 'virtual-service-all-v1.yaml'));
  await untilConfig(productpage, [subsetCluster('reviews', 'v1'), subsetCluster('details', 'v1'), subsetCluster('ratings', 'v1')], [subsetCluster('reviews')]);
  console.log(`${N} requests: ${await tally(N)}`);
  console.log(`${N} requests as jason: ${await tally(N, 'jason')}\n`);

  apply(path.join(NETWORKING, 'virtual-service-reviews-test-v2.yaml'));
  await untilConfig(productpage, ['jason', subsetCluster('reviews', 'v2')]);
  console.log(`${N} requests as jason: ${await tally(N, 'jason')}`);
  console.log(`${N} requests without a user: ${await tally(N)}`);
  console.log(`${N} requests as someone else (end-user: alice): ${await tally(N, 'alice')}`);
  console.log(`\n$ curl -s -x 127.0.0.131:15001 -H 'end-user: jason' ${PRODUCTPAGE_URL}\n${(await viaSleep(PRODUCTPAGE_URL, { 'end-user': 'jason' })).body}`);
  await finish(mesh, configDir);
} catch (e) {
  console.error(e.message);
  await mesh.stop(1);
}
