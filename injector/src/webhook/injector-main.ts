/** `minimesh injector`: the sidecar-injector webhook. */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { PORTS } from '@minimesh/mesh';
import { createInjectorServer } from './injector-server.js';
import { injectOptionsFromFlags, INJECT_FLAGS, INJECT_FLAGS_USAGE } from '../inject-flags.js';

export const INJECTOR_USAGE = `Usage: minimesh injector --tls-cert FILE --tls-key FILE [options]

The mutating admission webhook: POST /inject (AdmissionReview admission.k8s.io/v1, JSONPatch out).
Namespaces are chosen by the MutatingWebhookConfiguration's namespaceSelector
(istio-injection=enabled or minimesh-injection=enabled).

Options:
      --tls-cert FILE      PEM certificate
      --tls-key FILE       PEM private key
      --port PORT          (default ${PORTS.webhook})
      --address IP         (default 0.0.0.0)
${INJECT_FLAGS_USAGE}  -h, --help               this help
`;

export async function injectorMain(argv: string[]): Promise<number> {
  let v;
  try {
    v = parseArgs({
      args: argv,
      options: { 'tls-cert': { type: 'string' }, 'tls-key': { type: 'string' }, port: { type: 'string' }, address: { type: 'string' }, help: { type: 'boolean', short: 'h' }, ...INJECT_FLAGS },
      strict: true,
    }).values;
    if (v.help) {
      process.stdout.write(INJECTOR_USAGE);
      return 0;
    }
    if (!v['tls-cert'] || !v['tls-key']) throw new Error('--tls-cert and --tls-key are required');
  } catch (e) {
    process.stderr.write(`minimesh injector: ${(e as Error).message}\n\n${INJECTOR_USAGE}`);
    return 2;
  }
  const port = Number(v.port ?? PORTS.webhook);
  try {
    const server = createInjectorServer({ cert: readFileSync(v['tls-cert']), key: readFileSync(v['tls-key']), inject: injectOptionsFromFlags(v) });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, v.address ?? '0.0.0.0', () => resolve());
    });
    process.stdout.write(`minimesh injector listening on https://${v.address ?? '0.0.0.0'}:${port}/inject\n`);
    const stop = (): void => void server.close(() => process.exit(0));
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  } catch (e) {
    process.stderr.write(`minimesh injector: ${(e as Error).message}\n`);
    return 1;
  }
  return -1;
}
