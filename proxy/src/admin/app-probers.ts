/**
 * The app probes Istio's injector moved to the proxy (env `ISTIO_KUBE_APP_PROBERS`): the
 * kubelet asks `:15020/app-health/<container>/livez|readyz|startupz`, and the proxy performs
 * the original httpGet probe from inside the pod, where STRICT mTLS does not stand in the way.
 * As the kubelet: GET to the pod's own address (or the probe's host), scheme as given (https
 * without certificate checks), the probe's timeout (default 1 s); 2xx and 3xx succeed.
 */
import http from 'node:http';
import https from 'node:https';
import { log } from '../log.js';

export interface AppHttpProber {
  readonly httpGet: {
    readonly path?: string;
    readonly port: number;
    readonly host?: string;
    readonly scheme?: string;
    readonly httpHeaders?: readonly { readonly name: string; readonly value: string }[];
  };
  readonly timeoutSeconds?: number;
}

/** Keyed by the path the kubelet asks, e.g. `/app-health/hello/readyz`. */
export type AppProbers = ReadonlyMap<string, AppHttpProber>;

export const APP_PROBERS_ENV = 'ISTIO_KUBE_APP_PROBERS';

function isProber(v: unknown): v is AppHttpProber {
  const g = (v as { httpGet?: { port?: unknown; path?: unknown; scheme?: unknown } } | null)?.httpGet;
  if (typeof g !== 'object' || g === null) return false;
  if (!Number.isInteger(g.port) || (g.port as number) < 1 || (g.port as number) > 65535) return false;
  if (g.path !== undefined && typeof g.path !== 'string') return false;
  if (g.scheme !== undefined && !/^https?$/i.test(String(g.scheme))) return false;
  const to = (v as { timeoutSeconds?: unknown }).timeoutSeconds;
  return to === undefined || (typeof to === 'number' && to > 0);
}

/**
 * Parses the env value once, at start. A malformed value is logged and ignored (no probers);
 * an entry we cannot perform (not httpGet, bad port) is logged and left out (its path: 404).
 */
export function parseAppProbers(value: string | undefined): AppProbers {
  const out = new Map<string, AppHttpProber>();
  if (value === undefined || value.trim() === '') return out;
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch (e) {
    log.warn({ env: APP_PROBERS_ENV, err: (e as Error).message }, 'not JSON: app probes ignored');
    return out;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    log.warn({ env: APP_PROBERS_ENV }, 'not a JSON object: app probes ignored');
    return out;
  }
  for (const [path, prober] of Object.entries(parsed)) {
    if (!path.startsWith('/app-health/') || !isProber(prober)) {
      log.warn({ env: APP_PROBERS_ENV, path }, 'app probe not supported (httpGet only): ignored');
      continue;
    }
    out.set(path, prober);
  }
  return out;
}

export interface ProbeResult {
  readonly ok: boolean;
  /** The app's status, or why there was none. */
  readonly detail: string;
}

/** Performs one probe as the kubelet would. Never rejects. */
export function runAppProbe(p: AppHttpProber, podIp: string): Promise<ProbeResult> {
  const g = p.httpGet;
  const secure = (g.scheme ?? 'HTTP').toUpperCase() === 'HTTPS';
  const timeoutMs = (p.timeoutSeconds ?? 1) * 1000;
  const headers: Record<string, string> = { 'user-agent': 'kube-probe/minimesh', accept: '*/*' };
  for (const h of g.httpHeaders ?? []) headers[h.name.toLowerCase()] = h.value;
  const options: https.RequestOptions = {
    host: g.host || podIp,
    port: g.port,
    path: g.path ? (g.path.startsWith('/') ? g.path : `/${g.path}`) : '/',
    method: 'GET',
    headers,
    agent: false,
    ...(secure ? { rejectUnauthorized: false } : {}),
  };
  return new Promise((resolve) => {
    let done = false;
    const finish = (r: ProbeResult): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      req.destroy();
      resolve(r);
    };
    const req = (secure ? https : http).request(options, (res) => {
      const status = res.statusCode ?? 0;
      res.resume();
      finish({ ok: status >= 200 && status < 400, detail: String(status) });
    });
    const timer = setTimeout(() => finish({ ok: false, detail: `timeout after ${timeoutMs} ms` }), timeoutMs);
    req.on('error', (e) => finish({ ok: false, detail: e.message }));
    req.end();
  });
}
