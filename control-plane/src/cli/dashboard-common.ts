/** What every `minimesh dashboard` flavour shares: its I/O, options, addresses, the URL line. */
import { spawn } from 'node:child_process';
import { PORTS } from '@minimesh/mesh';

export const DEFAULT_DASHBOARD = `127.0.0.1:${PORTS.dashboard}`;

export interface DashboardIo {
  readonly out: (s: string) => void;
  readonly err: (s: string) => void;
  /** Opens a URL in a browser; failures are silent. */
  readonly openBrowser: (url: string) => void;
  /** Resolves when the user asks to stop (Ctrl-C). */
  readonly interrupted: () => Promise<void>;
  /** Where to look for a kubeconfig ($KUBECONFIG, ~/.kube/config); default: this process's. */
  readonly env?: NodeJS.ProcessEnv;
  readonly home?: string;
}

export interface DashboardOptions {
  readonly browser: boolean;
  readonly address?: string;
  readonly port?: number;
  readonly namespace?: string;
  readonly selector?: string;
  readonly uiPort: number;
  /** --kube, --context or --kubeconfig given: the cluster, surely. */
  readonly kube: boolean;
  readonly context?: string;
  readonly kubeconfig?: string;
  readonly istioNamespace?: string;
}

/** xdg-open (Linux) or open (macOS), detached; absent or failing openers are ignored. */
export function openBrowser(url: string): void {
  const cmd = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? undefined : 'xdg-open';
  if (!cmd) return;
  try {
    const child = spawn(cmd, [url], { stdio: 'ignore', detached: true });
    child.on('error', () => {});
    child.unref();
  } catch {
    /* no opener: the URL is printed anyway */
  }
}

/** `host:port`, `:port`, `port` or `http://host:port/` -> host and port. */
export function parseAddress(address: string, defaultPort: number = PORTS.dashboard): { host: string; port: number } {
  const a = address.trim();
  if (/^https?:\/\//.test(a)) {
    const u = new URL(a);
    return { host: u.hostname.replace(/^\[|\]$/g, ''), port: u.port ? Number(u.port) : defaultPort };
  }
  if (/^\d+$/.test(a)) return { host: '127.0.0.1', port: Number(a) };
  const m = /^(?:\[([^\]]+)\]|([^:]*))(?::(\d+))?$/.exec(a);
  if (!m) throw new Error(`bad address ${JSON.stringify(address)}: expected HOST:PORT`);
  return { host: m[1] ?? (m[2] || '127.0.0.1'), port: m[3] !== undefined ? Number(m[3]) : defaultPort };
}

export const dashboardUrl = (host: string, port: number): string => `http://${host.includes(':') ? `[${host}]` : host}:${port}/`;

/** Undefined when the page answers 2xx; else why not, in words. */
export async function checkDashboard(url: string, timeoutMs = 5000): Promise<string | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    await res.arrayBuffer();
    return res.ok ? undefined : `it answers HTTP ${res.status}`;
  } catch (e) {
    const err = e as Error & { cause?: { code?: string; message?: string } };
    return err.name === 'TimeoutError' ? `no answer within ${timeoutMs / 1000}s` : (err.cause?.code ?? err.cause?.message ?? err.message);
  }
}

/** The URL, then the browser (or istioctl's line saying it was skipped). */
export function announce(url: string, browser: boolean, io: DashboardIo): void {
  io.out(`${url}\n`);
  if (browser) io.openBrowser(url);
  else io.out('skipping opening a browser\n');
}
