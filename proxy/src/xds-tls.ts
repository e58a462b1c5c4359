/**
 * TLS from the proxy to the control plane (xDS on 15012): which root the control plane's
 * certificate must chain to, and which name it must carry.
 *
 * `--xds-ca FILE` names the root. Without it, an `--xds` address on port 15012 uses the root
 * an injected pod mounts from the namespace's root ConfigMap, when that file exists; any other
 * address is plain text. The name checked is the host of `--xds`, or `--xds-server-name` when
 * the address dialled is an IP or a forwarded port. The root is read once, at startup.
 */
import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { PORTS, ROOT_CERT_KEY, ROOT_CERT_MOUNT_PATH } from '@minimesh/mesh';

/** Where an injected sidecar or a gateway finds the root (the ConfigMap's key, mounted). */
export const MOUNTED_ROOT_FILE = `${ROOT_CERT_MOUNT_PATH}/${ROOT_CERT_KEY}`;

/** TLS to the control plane, as chosen from the flags (the root not read yet). */
export interface XdsTlsSettings {
  /** The root certificate(s), PEM. */
  readonly rootFile: string;
  /** The name the control plane's certificate must carry. */
  readonly serverName: string;
  /** Where the root file came from, for messages: the flag, or the mounted ConfigMap. */
  readonly source: 'flag' | 'mounted';
}

/** The host of `HOST:PORT` (`[v6]:PORT` too) and its port. */
export function splitHostPort(address: string): { host: string; port: number } {
  const i = address.lastIndexOf(':');
  const host = address.slice(0, i);
  return { host: host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host, port: Number(address.slice(i + 1)) };
}

/**
 * TLS settings for `server` (already checked to be HOST:PORT), or undefined for plain text.
 * Throws when `--xds-server-name` is given with no TLS to apply it to.
 */
export function chooseXdsTls(server: string, flags: { ca?: string; serverName?: string }, mountedRoot: string = MOUNTED_ROOT_FILE): XdsTlsSettings | undefined {
  const { host, port } = splitHostPort(server);
  const serverName = flags.serverName ?? host;
  if (flags.ca !== undefined) return { rootFile: flags.ca, serverName, source: 'flag' };
  if (port === PORTS.xdsTls && existsSync(mountedRoot)) return { rootFile: mountedRoot, serverName, source: 'mounted' };
  if (flags.serverName !== undefined) {
    throw new Error(`--xds-server-name: no TLS to check it with (give --xds-ca FILE${port === PORTS.xdsTls ? `, or mount the root at ${mountedRoot}` : ''})`);
  }
  return undefined;
}

/** How a message names the root file. */
export function describeRoot(tls: XdsTlsSettings): string {
  return tls.source === 'flag' ? `--xds-ca ${tls.rootFile}` : `the control plane's root ${tls.rootFile} (mounted; used as --xds is on port ${PORTS.xdsTls})`;
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

/**
 * Checks PEM text holds at least one certificate and that every one parses; returns the
 * problem, or undefined when fine.
 */
export function rootPemProblem(pem: string): string | undefined {
  const blocks = pem.match(PEM_CERT) ?? [];
  if (blocks.length === 0) return 'no certificate in it (expected PEM: -----BEGIN CERTIFICATE-----)';
  for (const [i, block] of blocks.entries()) {
    try {
      new X509Certificate(block);
    } catch (e) {
      return `certificate ${i + 1} of ${blocks.length} is not a valid X.509 certificate: ${(e as Error).message}`;
    }
  }
  return undefined;
}

/** Reads and checks the root; throws an Error naming the file and what is wrong. */
export function loadXdsRoot(tls: XdsTlsSettings): string {
  let pem: string;
  try {
    pem = readFileSync(tls.rootFile, 'utf8');
  } catch (e) {
    throw new Error(`${describeRoot(tls)}: cannot read: ${(e as Error).message}`);
  }
  const problem = rootPemProblem(pem);
  if (problem !== undefined) throw new Error(`${describeRoot(tls)}: ${problem}`);
  return pem;
}

/** Whether a stream error is the TLS handshake failing (an unknown root, a wrong name, a non-TLS server). */
export function isTlsFailure(err: Error | undefined): boolean {
  return err !== undefined && /certificate|altname|self[- ]signed|SSL|TLS|wrong version number|handshake/i.test(err.message);
}
