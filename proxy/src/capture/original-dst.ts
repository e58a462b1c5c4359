/**
 * A captured connection's original destination, from SO_ORIGINAL_DST through the small addon
 * in proxy/native/. Where the addon is not built, or a socket was not redirected by iptables,
 * it says so once in the log and returns undefined: the caller then routes by Host header.
 */
import { createRequire } from 'node:module';
import type net from 'node:net';
import { log } from '../log.js';

export interface OriginalDst {
  readonly address: string;
  readonly port: number;
}

interface Addon {
  getOriginalDst(fd: number): OriginalDst | null;
}

const ADDON_PATH = '../../../native/build/Release/original_dst.node';

let addon: Addon | null | undefined;
let saidNotRedirected = false;

function loadAddon(): Addon | null {
  if (addon !== undefined) return addon;
  try {
    addon = createRequire(import.meta.url)(ADDON_PATH) as Addon;
  } catch (e) {
    addon = null;
    log.warn({ err: (e as Error).message.split('\n')[0] }, 'original-dst addon not available (npm install builds it with node-gyp): captured connections are routed by Host header only');
  }
  return addon;
}

/** Whether the addon loaded (for the admin API and tests). */
export function originalDstAvailable(): boolean {
  return loadAddon() !== null;
}

/** The fd of an accepted socket (libuv keeps it on the handle). */
function socketFd(socket: net.Socket): number | undefined {
  const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : undefined;
}

/**
 * The destination the client dialled before iptables redirected it; undefined when unknown.
 * A socket that reports its own local address was not redirected (connected to us directly).
 */
export function getOriginalDst(socket: net.Socket): OriginalDst | undefined {
  const a = loadAddon();
  if (a === null) return undefined;
  const fd = socketFd(socket);
  const dst = fd === undefined ? null : a.getOriginalDst(fd);
  if (dst === null || (dst.address === socket.localAddress && dst.port === socket.localPort)) {
    if (!saidNotRedirected) {
      saidNotRedirected = true;
      log.info({ local: `${socket.localAddress}:${socket.localPort}` }, 'a connection to the capture listener was not redirected by iptables: routing it by Host header (said once)');
    }
    return undefined;
  }
  return dst;
}
