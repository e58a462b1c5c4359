/**
 * Istio's metrics merge, the proxy's half: the injector moved the app's own `prometheus.io/port`
 * and `prometheus.io/path` into env `ISTIO_PROMETHEUS_ANNOTATIONS` (`{"scrape","path","port"}`)
 * and pointed Prometheus at the agent port (15020); there `/stats/prometheus` answers the
 * proxy's metrics followed by the app's, fetched from `http://<INSTANCE_IP>:<port><path>`.
 * The app's part is best effort: an app that fails, is down or is slower than 2 s is logged
 * and the proxy's part is served alone, never an error for the whole scrape.
 */
import http from 'node:http';
import { log } from '../log.js';

export const PROMETHEUS_ANNOTATIONS_ENV = 'ISTIO_PROMETHEUS_ANNOTATIONS';
/** The longest the app's scrape may take before the proxy's part is served alone. */
export const APP_METRICS_TIMEOUT_MS = 2000;
/** Bigger app answers are dropped (a scrape stays bounded in memory). */
const MAX_APP_METRICS_BYTES = 16 * 1024 * 1024;
/** Prometheus' text format, asked of the app and answered to Prometheus. */
export const PROMETHEUS_TEXT = 'text/plain; version=0.0.4';

/** Where the app serves its metrics (the path defaults to Prometheus' /metrics). */
export interface AppMetricsTarget {
  readonly port: number;
  readonly path: string;
}

/**
 * Parses the env value once, at start: undefined when unset, or when the app asked not to be
 * scraped or named no port; a malformed value is logged, naming the variable, and ignored.
 */
export function parseAppMetricsTarget(value: string | undefined): AppMetricsTarget | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch (e) {
    log.warn({ env: PROMETHEUS_ANNOTATIONS_ENV, value, err: (e as Error).message }, 'not JSON: the app\'s metrics are not merged');
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    log.warn({ env: PROMETHEUS_ANNOTATIONS_ENV, value }, 'not a JSON object {"scrape","path","port"}: the app\'s metrics are not merged');
    return undefined;
  }
  const { scrape, path, port } = parsed as { scrape?: unknown; path?: unknown; port?: unknown };
  if (scrape === 'false') return undefined;
  if (port === undefined || port === '') return undefined;
  const n = typeof port === 'number' ? port : typeof port === 'string' && /^\d+$/.test(port) ? Number(port) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > 65535) {
    log.warn({ env: PROMETHEUS_ANNOTATIONS_ENV, port }, 'port is not a port number: the app\'s metrics are not merged');
    return undefined;
  }
  const p = typeof path === 'string' && path !== '' ? path : '/metrics';
  return { port: n, path: p.startsWith('/') ? p : `/${p}` };
}

/** GETs the app's metrics; rejects with an Error naming the URL and what went wrong. */
export function fetchAppMetrics(target: AppMetricsTarget, host: string, timeoutMs = APP_METRICS_TIMEOUT_MS): Promise<string> {
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${target.port}${target.path}`;
  return new Promise((resolve, reject) => {
    let done = false;
    const fail = (why: string): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      req.destroy();
      reject(new Error(`${url}: ${why}`));
    };
    const req = http.get({ host, port: target.port, path: target.path, headers: { accept: PROMETHEUS_TEXT, 'user-agent': 'minimesh-proxy' }, agent: false }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        return fail(`status ${res.statusCode}`);
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_APP_METRICS_BYTES) fail(`more than ${MAX_APP_METRICS_BYTES} bytes`);
        else chunks.push(c);
      });
      res.on('end', () => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        resolve(Buffer.concat(chunks).toString('utf8'));
      });
      res.on('error', (e) => fail(e.message));
    });
    const timer = setTimeout(() => fail(`no answer within ${timeoutMs} ms`), timeoutMs);
    req.on('error', (e) => fail(e.message));
  });
}

/** Answers `own` (the proxy's metrics) followed by the app's; the proxy's alone when the app's fail. */
export function sendWithAppMetrics(res: http.ServerResponse, own: string, target: AppMetricsTarget, host: string): void {
  const send = (body: string): void => {
    if (res.destroyed) return;
    res.writeHead(200, { 'content-type': PROMETHEUS_TEXT });
    res.end(body);
  };
  fetchAppMetrics(target, host).then(
    (app) => send(own === '' || own.endsWith('\n') ? own + app : `${own}\n${app}`),
    (e: Error) => {
      log.warn({ err: e.message }, "app metrics scrape failed: serving the proxy's metrics alone");
      send(own);
    },
  );
}
