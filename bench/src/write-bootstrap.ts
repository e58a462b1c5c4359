// Print the bench's one-hop Envoy bootstrap, for running a proxy by hand (profiling).
//
//   node bench/dist/src/write-bootstrap.js --admin 9901 --listen 10000 --next 8080 [--istio SERVER|CLIENT] [--http2] > hop.yaml
//
// --http2: the cluster speaks HTTP/2 (h2c) to the next hop, as in the h2 and gRPC rows.
// --istio adds Istio's metrics filters (istio.metadata_exchange, istio.stats) as that side's sidecar.
import { bootstrapYaml, type IstioSide } from './proxy.js';

function arg(name: string): number {
  const i = process.argv.indexOf(`--${name}`);
  const n = i >= 0 ? Number(process.argv[i + 1]) : Number.NaN;
  if (!Number.isInteger(n) || n <= 0) {
    process.stderr.write('usage: node bench/dist/src/write-bootstrap.js --admin PORT --listen PORT --next PORT [--istio SERVER|CLIENT] [--http2]\n');
    process.exit(2);
  }
  return n;
}

const i = process.argv.indexOf('--istio');
const side = i >= 0 ? process.argv[i + 1] : null;
if (side !== null && side !== 'SERVER' && side !== 'CLIENT') {
  process.stderr.write('--istio takes SERVER or CLIENT\n');
  process.exit(2);
}
process.stdout.write(bootstrapYaml('bench-hop', { admin: arg('admin'), listen: arg('listen'), next: arg('next') }, side as IstioSide, process.argv.includes('--http2')));
