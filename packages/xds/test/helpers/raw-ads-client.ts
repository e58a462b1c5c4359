/** A bare ADS stream for protocol tests: send requests by hand, await responses one by one. */
import * as grpc from '@grpc/grpc-js';
import type { DiscoveryResponse } from '@minimesh/api';
import { ADS_METHOD_PATH, deserializeResponse, serializeRequest, type DiscoveryRequestOut } from '../../src/ads-service.js';

export interface RawAds {
  send(req: Partial<DiscoveryRequestOut> & { type_url: string }): void;
  /** The next response (rejects after `ms`). */
  next(ms?: number): Promise<DiscoveryResponse>;
  /** Resolves true if no response arrives within `ms`. */
  quiet(ms: number): Promise<boolean>;
  close(): void;
}

export function rawAds(port: number, nodeId: string): RawAds {
  const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  const call = client.makeBidiStreamRequest(ADS_METHOD_PATH, serializeRequest, deserializeResponse);
  const queue: DiscoveryResponse[] = [];
  const waiters: ((r: DiscoveryResponse) => void)[] = [];
  call.on('data', (r: DiscoveryResponse) => {
    const w = waiters.shift();
    if (w) w(r);
    else queue.push(r);
  });
  call.on('error', () => {});
  let first = true;
  return {
    send(req) {
      call.write({ version_info: '', resource_names: [], response_nonce: '', ...req, ...(first ? { node: { id: nodeId, cluster: 'test' } } : {}) });
      first = false;
    },
    next(ms = 2000) {
      const q = queue.shift();
      if (q) return Promise.resolve(q);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no response')), ms);
        waiters.push((r) => {
          clearTimeout(timer);
          resolve(r);
        });
      });
    },
    async quiet(ms) {
      await new Promise((r) => setTimeout(r, ms));
      return queue.length === 0;
    },
    close() {
      call.cancel();
      client.close();
    },
  };
}
