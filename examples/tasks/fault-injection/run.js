#!/usr/bin/env node
// Istio's "Fault Injection" task on Bookinfo in the local mesh (../bookinfo/bookinfo.js):
//   0. virtual-service-all-v1 + virtual-service-reviews-test-v2: jason -> reviews v2 -> ratings,
//      everyone else -> reviews v1;
//   1. virtual-service-ratings-test-delay: jason's calls to ratings wait 7 s. reviews v2 would
//      wait 10 s for ratings, but productpage waits 3 s per try, two tries: after about 6 s
//      jason's page says the reviews are unavailable (the bug the task uncovers);
//   2. virtual-service-ratings-test-abort: jason's calls to ratings fail with HTTP 500 at once:
//      his page says the ratings are unavailable; everyone else sees no change.
// `--exit` stops the mesh after the steps; otherwise it keeps running for you to try things.
import path from 'node:path';
import { NETWORKING, finish, podOf, startBookinfo, summarize, untilConfig, viaSleep, PRODUCTPAGE_URL } from '../bookinfo/bookinfo.js';

const { mesh, configDir, apply } = await startBookinfo('fault-injection');
const reviewsV2 = podOf('reviews-v2');
const show = async (who, user) => {
  const r = await viaSleep(PRODUCTPAGE_URL, user ? { 'end-user': user } : {});
  const text = r.body.split('\n').find((l) => l.includes('unavailable')) ?? summarize(r.body);
  console.log(`  ${who.padEnd(10)} ${String(r.ms).padStart(5)} ms  ${text.trim()}`);
};
try {
  apply(path.join(NETWORKING, 'virtual-service-all-v1.yaml'));
  apply(path.join(NETWORKING, 'virtual-service-reviews-test-v2.yaml'));
  await untilConfig(podOf('productpage-v1'), ['jason']);
  console.log('The product page:');
  await show('jason', 'jason');
  await show('anonymous');

  console.log('');
  apply(path.join(NETWORKING, 'virtual-service-ratings-test-delay.yaml'));
  await untilConfig(reviewsV2, ['jason', 'fixed_delay']);
  console.log('The product page (jason waits for productpage to give up on reviews: 2 tries of 3 s):');
  await show('jason', 'jason');
  await show('anonymous');

  console.log('');
  apply(path.join(NETWORKING, 'virtual-service-ratings-test-abort.yaml'));
  await untilConfig(reviewsV2, ['jason', 'http_status'], ['fixed_delay']);
  console.log('The product page:');
  await show('jason', 'jason');
  await show('anonymous');
  await finish(mesh, configDir, [`curl -s http://${reviewsV2.ip}:15000/stats | grep '\\.fault\\.'     # the faults reviews-v2's sidecar injected`]);
} catch (e) {
  console.error(e.message);
  await mesh.stop(1);
}
