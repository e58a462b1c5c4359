// Print the bench's one-hop Envoy bootstrap, for running a proxy by hand (profiling).
//
//   node bench/dist/src/write-bootstrap.js --admin 9901 --listen 10000 --next 8080 > hop.yaml
import { bootstrapYaml } from './proxy.js';

function arg(name: string): number {
  const i = process.argv.indexOf(`--${name}`);
  const n = i >= 0 ? Number(process.argv[i + 1]) : Number.NaN;
  if (!Number.isInteger(n) || n <= 0) {
    process.stderr.write('usage: node bench/dist/src/write-bootstrap.js --admin PORT --listen PORT --next PORT\n');
    process.exit(2);
  }
  return n;
}

process.stdout.write(bootstrapYaml('bench-hop', { admin: arg('admin'), listen: arg('listen'), next: arg('next') }));
