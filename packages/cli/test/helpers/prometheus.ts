/**
 * A real Prometheus (Debian's `prometheus`) for tests: started on a config the local mesh
 * wrote, queried over its HTTP API with PromQL, stopped at teardown. Missing binary: a skip
 * reason outside CI, a failure under CI=true (CI installs it).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Test } from 'tap';

export const PROMETHEUS_BIN = ['/usr/bin/prometheus', '/usr/local/bin/prometheus'].find((p) => existsSync(p));

export interface VectorSample {
  readonly metric: Record<string, string>;
  readonly value: [number, string];
}

export interface RunningPrometheus {
  readonly url: string;
  query(promql: string): Promise<VectorSample[]>;
  /** Polls `promql` until `ok(result)` or the deadline; returns the last result. */
  waitFor(promql: string, ok: (r: VectorSample[]) => boolean, timeoutMs: number): Promise<VectorSample[]>;
}

export async function startPrometheus(t: Test, configFile: string, port: number): Promise<RunningPrometheus> {
  if (PROMETHEUS_BIN === undefined) throw new Error('prometheus is not installed (apt-get install prometheus)');
  const data = mkdtempSync(path.join(os.tmpdir(), 'minimesh-prom-'));
  const listen = `127.0.0.1:${port}`;
  const child = spawn(PROMETHEUS_BIN, [`--config.file=${configFile}`, `--storage.tsdb.path=${data}`, `--web.listen-address=${listen}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr!.on('data', (d) => (log = (log + d).slice(-4000)));
  t.teardown(() => {
    child.kill('SIGKILL');
  });
  const url = `http://${listen}`;
  const end = Date.now() + 20000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`prometheus exited (${child.exitCode}): ${log}`);
    try {
      if ((await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1000) })).ok) break;
    } catch {
      // not yet
    }
    if (Date.now() > end) throw new Error(`prometheus not ready on ${url}: ${log}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  const query = async (promql: string): Promise<VectorSample[]> => {
    const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(promql)}`);
    const body = (await res.json()) as { status: string; error?: string; data?: { resultType: string; result: VectorSample[] } };
    if (body.status !== 'success') throw new Error(`PromQL ${promql}: ${body.error}`);
    return body.data!.result;
  };
  return {
    url,
    query,
    waitFor: async (promql, ok, timeoutMs) => {
      const deadline = Date.now() + timeoutMs;
      let last: VectorSample[] = [];
      while (Date.now() < deadline) {
        last = await query(promql);
        if (ok(last)) return last;
        await new Promise((r) => setTimeout(r, 1000));
      }
      return last;
    },
  };
}

/** Kiali's group-by of the request graph queries (graph/telemetry/istio). */
export const KIALI_GROUP_BY =
  'source_cluster,source_workload_namespace,source_workload,source_canonical_service,source_canonical_revision,destination_cluster,destination_service_namespace,destination_service,destination_service_name,destination_workload_namespace,destination_workload,destination_canonical_service,destination_canonical_revision,request_protocol,response_code,grpc_response_status,response_flags';

/** Kiali's incoming-edge query (#2) and outgoing-edge query (#3) for namespace `ns`. */
export const kialiIncoming = (ns: string, window = '60s'): string =>
  `sum(rate(istio_requests_total{reporter="destination",destination_workload_namespace="${ns}"} [${window}])) by (${KIALI_GROUP_BY}) > 0`;
export const kialiOutgoing = (ns: string, window = '60s'): string =>
  `sum(rate(istio_requests_total{reporter="source",source_workload_namespace="${ns}"} [${window}])) by (${KIALI_GROUP_BY}) > 0`;
