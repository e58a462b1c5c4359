/**
 * The TrafficSource over a Prometheus server (`--prometheus URL`): sends each query's PromQL
 * text (Kiali's own, for the graph) as an instant query, `GET URL/api/v1/query?query=…&time=…`,
 * and reads the vector back. Any failure becomes an Error naming the URL, the HTTP status and
 * Prometheus's own `error` text.
 */
import type { Row, TrafficQuery, TrafficSource } from './traffic-query.js';

export interface PrometheusSourceOptions {
  readonly timeoutMs?: number;
}

interface PromResponse {
  status?: string;
  error?: string;
  errorType?: string;
  data?: { resultType?: string; result?: { metric?: Record<string, string>; value?: [number, string] }[] };
}

export class PrometheusTrafficSource implements TrafficSource {
  readonly kind = 'prometheus' as const;
  readonly maxWindowSec = Infinity;
  readonly baseUrl: string;

  constructor(url: string, private readonly opts: PrometheusSourceOptions = {}) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new Error(`--prometheus: ${JSON.stringify(url)} is not a URL (expected e.g. http://prometheus.istio-system:9090)`);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error(`--prometheus: ${url}: only http and https are supported`);
    this.baseUrl = url.replace(/\/+$/, '');
  }

  async query(q: TrafficQuery): Promise<Row[]> {
    return this.instant(q.promql, q.time);
  }

  /** One instant query; the rows of its vector. */
  async instant(promql: string, time: number): Promise<Row[]> {
    const url = `${this.baseUrl}/api/v1/query?${new URLSearchParams({ query: promql, time: String(time) })}`;
    let res: Response;
    try {
      res = await fetch(url, { signal: AbortSignal.timeout(this.opts.timeoutMs ?? 10_000) });
    } catch (e) {
      const c = (e as { cause?: { code?: string; message?: string } }).cause;
      const cause = c?.code ?? c?.message ?? (e as Error).message;
      throw new Error(`prometheus ${this.baseUrl}: cannot query: ${cause}`);
    }
    const text = await res.text();
    let body: PromResponse | undefined;
    try {
      body = JSON.parse(text) as PromResponse;
    } catch {
      body = undefined;
    }
    if (!res.ok || body?.status !== 'success') {
      const why = body?.error ? `${body.errorType ? `${body.errorType}: ` : ''}${body.error}` : text.trim().slice(0, 300) || 'no body';
      throw new Error(`prometheus ${this.baseUrl}: HTTP ${res.status}: ${why}`);
    }
    const data = body.data;
    if (data?.resultType !== 'vector' || !Array.isArray(data.result)) throw new Error(`prometheus ${this.baseUrl}: expected a vector result, got ${data?.resultType ?? 'nothing'}`);
    const rows: Row[] = [];
    for (const r of data.result) {
      const value = Number(r.value?.[1]);
      const labels = { ...(r.metric ?? {}) };
      delete labels.__name__;
      rows.push({ labels, value });
    }
    return rows;
  }
}
