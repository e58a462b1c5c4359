/**
 * The control plane's TLS ports, both with the serving certificate: the webhooks (15017) and
 * the ADS service over TLS (15012; the same XdsServer as the plain 15010, so proxies on
 * either share one cache and one sync status). When the certificate changes, the webhook
 * server takes it for new connections at once; the xDS port is bound again (its proxies
 * reconnect, as after any control-plane restart).
 */
import type https from 'node:https';
import type { XdsServer } from '@minimesh/xds';
import type { InjectOptions } from '@minimesh/injector/inject-options';
import type { ServingCert, ServingCertKeeper } from '../security/serving-cert.js';
import { createWebhookServer } from '../webhooks/webhook-server.js';
import type { HostPort } from './control-plane.js';
import { closeServer, listenOn } from './listen.js';

export interface SecureServingOptions {
  readonly xds: XdsServer;
  readonly serving: ServingCertKeeper;
  readonly secureXdsAddress?: HostPort;
  readonly webhookAddress?: HostPort;
  readonly inject: Partial<InjectOptions> | (() => Partial<InjectOptions>);
  readonly log: (line: string) => void;
}

const grpcAddress = (host: string, port: number): string => (host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`);
const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class SecureServing {
  secureXdsPort = 0;
  webhookPort = 0;
  private webhook: https.Server | undefined;
  private readonly onChange = (c: ServingCert): void => void this.rotate(c);

  private constructor(private readonly o: SecureServingOptions) {}

  static async start(o: SecureServingOptions): Promise<SecureServing> {
    const s = new SecureServing(o);
    const cert = o.serving.current;
    if (o.webhookAddress) {
      s.webhook = createWebhookServer({ certChainPem: cert.certChainPem, keyPem: cert.keyPem, inject: o.inject, log: o.log });
      s.webhookPort = await listenOn(s.webhook, o.webhookAddress.host, o.webhookAddress.port, 'webhook server');
    }
    if (o.secureXdsAddress) {
      const { host, port } = o.secureXdsAddress;
      s.secureXdsPort = await o.xds.listen(host, port, { certChainPem: cert.certChainPem, keyPem: cert.keyPem }).catch((e: Error) => {
        throw new Error(`secure xDS: cannot listen on ${host}:${port}: ${e.message}`);
      });
    }
    o.serving.on('change', s.onChange);
    return s;
  }

  async stop(): Promise<void> {
    this.o.serving.off('change', this.onChange);
    await closeServer(this.webhook);
  }

  private async rotate(c: ServingCert): Promise<void> {
    this.webhook?.setSecureContext({ cert: c.certChainPem, key: c.keyPem });
    const a = this.o.secureXdsAddress;
    if (!a || this.secureXdsPort === 0) return;
    this.o.xds.grpcServer.unbind(grpcAddress(a.host, this.secureXdsPort));
    // The old listener closes asynchronously: bind again until the port is free.
    for (let attempt = 1; ; attempt++) {
      try {
        await this.o.xds.listen(a.host, this.secureXdsPort, { certChainPem: c.certChainPem, keyPem: c.keyPem });
        this.o.log(`secure xDS on ${a.host}:${this.secureXdsPort} serves the new certificate`);
        return;
      } catch (e) {
        if (attempt >= 50) {
          this.o.log(`secure xDS: cannot bind ${a.host}:${this.secureXdsPort} again with the new certificate: ${(e as Error).message}`);
          return;
        }
        await pause(100);
      }
    }
  }
}
