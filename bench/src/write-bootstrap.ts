// Print the bench's one-hop Envoy bootstrap, for running a proxy by hand (profiling).
//
//   node bench/dist/src/write-bootstrap.js --admin 9901 --listen 10000 --next 8080 [--istio SERVER|CLIENT] [--http2] [--mtls client|server DIR] > hop.yaml
//
// --http2: the cluster speaks HTTP/2 (h2c) to the next hop, as in the h2 and gRPC rows.
// --istio adds Istio's metrics filters (istio.metadata_exchange, istio.stats) as that side's sidecar.
// --mtls: that end of the "2 proxies, mTLS" link; a root and both workload certificates are made
// and written into DIR (the bootstrap names them by file).
import { writeMeshCerts } from './mesh-certs.js';
import { bootstrapYaml, type IstioSide } from './proxy.js';

const USAGE = 'usage: node bench/dist/src/write-bootstrap.js --admin PORT --listen PORT --next PORT [--istio SERVER|CLIENT] [--http2] [--mtls client|server DIR]\n';

function arg(name: string): number {
  const i = process.argv.indexOf(`--${name}`);
  const n = i >= 0 ? Number(process.argv[i + 1]) : Number.NaN;
  if (!Number.isInteger(n) || n <= 0) {
    process.stderr.write(USAGE);
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
const m = process.argv.indexOf('--mtls');
const role = m >= 0 ? process.argv[m + 1] : null;
const certDir = m >= 0 ? process.argv[m + 2] : undefined;
if (role !== null && ((role !== 'client' && role !== 'server') || certDir === undefined || certDir.startsWith('--'))) {
  process.stderr.write(`--mtls takes client or server, then the directory for the certificates\n${USAGE}`);
  process.exit(2);
}
const ports = { admin: arg('admin'), listen: arg('listen'), next: arg('next') };
const mtls = role === null || certDir === undefined ? null : { role: role as 'client' | 'server', certs: await writeMeshCerts(certDir) };
process.stdout.write(bootstrapYaml('bench-hop', ports, side as IstioSide, process.argv.includes('--http2'), mtls));
