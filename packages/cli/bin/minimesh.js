#!/usr/bin/env -S node --max-semi-space-size=2
// The flags above are PROXY_NODE_FLAGS (packages/mesh): small young-generation semi-spaces keep a
// proxy's memory low under load. Whoever runs this file with `node` adds them (the bench and the
// example runners do).
import { main } from '../dist/src/main.js';

main(process.argv.slice(2)).then((code) => {
  if (code >= 0) process.exitCode = code;
});
