/**
 * `minimesh control-plane`: runs the control plane until SIGINT/SIGTERM. Once serving it prints
 *   control plane ready: xds 0.0.0.0:15010, debug http://0.0.0.0:15014 (3 resources from DIR)
 * (with --kube also the secure xDS, webhook and ready addresses).
 */
import fs from 'node:fs';
import { ControlPlane } from './server/control-plane.js';
import { createDashboardAssets } from './dashboard/dashboard-assets.js';
import { CONTROL_PLANE_USAGE, ControlPlaneUsageError, parseControlPlaneArgs } from './server/control-plane-args.js';

export { CONTROL_PLANE_USAGE };

export async function controlPlaneMain(argv: string[]): Promise<number> {
  let opts;
  try {
    opts = parseControlPlaneArgs(argv);
  } catch (e) {
    if (!(e instanceof ControlPlaneUsageError)) throw e;
    process.stderr.write(`minimesh control-plane: ${e.message}\n\n${CONTROL_PLANE_USAGE}`);
    return 2;
  }
  if (opts === 'help') {
    process.stdout.write(CONTROL_PLANE_USAGE);
    return 0;
  }
  if (opts.source.kind === 'folder' && !fs.statSync(opts.source.dir, { throwIfNoEntry: false })?.isDirectory()) {
    process.stderr.write(`minimesh control-plane: --config-dir ${opts.source.dir}: not a folder\n`);
    return 2;
  }
  const provider = process.env.PILOT_CERT_PROVIDER;
  if (opts.source.kind === 'kube' && provider && provider !== 'istiod') {
    process.stderr.write(`minimesh control-plane: PILOT_CERT_PROVIDER=${provider} is not supported; the control plane's own CA (istiod) is used\n`);
  }
  // The dashboard's page and scripts (the graph); its API is the control plane's own.
  const cp = new ControlPlane({ ...opts, dashboardAssets: createDashboardAssets() });
  try {
    await cp.start();
  } catch (e) {
    process.stderr.write(`minimesh control-plane: ${(e as Error).message}\n`);
    await cp.stop().catch(() => undefined);
    return 1;
  }
  const from = opts.source.kind === 'folder' ? opts.source.dir : 'the Kubernetes API';
  const tls = [
    opts.secureXdsAddress ? `, secure xds ${opts.secureXdsAddress.host}:${cp.secureXdsPort}` : '',
    opts.webhookAddress ? `, webhooks https://${opts.webhookAddress.host}:${cp.webhookPort}` : '',
    opts.readyAddress ? `, ready http://${opts.readyAddress.host}:${cp.readyPort}/ready` : '',
  ].join('');
  process.stderr.write(
    `control plane ready: xds ${opts.xdsAddress.host}:${cp.xdsPort}${tls}, debug http://${opts.debugAddress.host}:${cp.debugPort}${cp.dashboardPort ? `, dashboard http://${opts.dashboardAddress && opts.dashboardAddress !== 'off' ? opts.dashboardAddress.host : ''}:${cp.dashboardPort}${opts.prometheusUrl ? ` (metrics from ${opts.prometheusUrl})` : ''}` : ''} (${cp.model.services.length} services from ${from}${opts.capture ? '; sidecars get capture listeners 15001/15006' : ''})\n`,
  );
  let stopping = false;
  const quit = (): void => {
    if (stopping) return;
    stopping = true;
    void cp.stop().then(() => process.exit(0));
  };
  process.on('SIGINT', quit);
  process.on('SIGTERM', quit);
  return -1; // keeps running
}
