/**
 * `minimesh stat`: traffic per deployment or service, as `linkerd viz stat` shows it, from the
 * control plane's dashboard API (/api/stat):
 *   NAMESPACE (-A)  NAME  MESHED  SUCCESS  RPS  LATENCY_P50  LATENCY_P95  LATENCY_P99  TCP_CONN
 */
import { parseArgs } from 'node:util';
import { PORTS, renderTable } from '@minimesh/mesh';
import { parseStatKind, parseStatTarget, StatParamError, type StatResult, type StatRow } from '../telemetry/stat.js';
import { DASHBOARD_PROBE_PATH, KUBE_FLAG_OPTIONS, kubeFlagsUsage, kubeFlagsOf, reachControlPlane, viaTarget, type Target } from './control-plane-target.js';

export const DEFAULT_DASHBOARD = `http://127.0.0.1:${PORTS.dashboard}`;

export const STAT_USAGE = `Usage: minimesh stat (deploy|svc)[/NAME] [options]

Success rate, requests per second, latency percentiles and open TCP connections per
deployment or service, from the proxies' standard metrics as the control plane sees them
(inbound traffic, as each destination's sidecar reported it).

The dashboard API: --dashboard URL when given; the cluster when --kubeconfig, --context or -i
is given; else the one answering on 127.0.0.1:${PORTS.dashboard}; else, with a kubeconfig, port
${PORTS.dashboard} of the first Running pod labelled app=istiod in istio-system, port-forwarded.

Kinds: deploy, deployment, workload; svc, service

Options:
  -n, --namespace NS          the namespace (default: default)
  -A, --all-namespaces        every namespace (adds a NAMESPACE column)
      --from deploy/NAME      only traffic coming from this deployment
      --to deploy/NAME|svc/NAME  the listed deployments' outbound traffic to this target
  -t, --time-window D         the window rates are taken over (default 1m)
  -w, --watch                 redraw every 2 s until Ctrl-C
  -o, --output FORMAT         table (default) or json
      --dashboard URL         the control plane's dashboard API (e.g. ${DEFAULT_DASHBOARD})
${kubeFlagsUsage(30)}
  -h, --help                  this help
`;

const dash = '-';

export function formatStatRow(r: StatRow, allNamespaces: boolean): string[] {
  const cells = [
    r.name,
    r.meshed ? `${r.meshed.meshed}/${r.meshed.pods}` : dash,
    r.requests ? `${(r.requests.success * 100).toFixed(2)}%` : dash,
    r.requests ? `${r.requests.rps.toFixed(1)}rps` : dash,
    r.latencyMs ? `${Math.round(r.latencyMs.p50)}ms` : dash,
    r.latencyMs ? `${Math.round(r.latencyMs.p95)}ms` : dash,
    r.latencyMs ? `${Math.round(r.latencyMs.p99)}ms` : dash,
    r.tcpConnections !== undefined ? String(r.tcpConnections) : dash,
  ];
  return allNamespaces ? [r.namespace, ...cells] : cells;
}

export function statTable(result: StatResult, allNamespaces: boolean): string {
  const headers = ['NAME', 'MESHED', 'SUCCESS', 'RPS', 'LATENCY_P50', 'LATENCY_P95', 'LATENCY_P99', 'TCP_CONN'];
  if (result.rows.length === 0) return `No traffic found.`;
  return renderTable(allNamespaces ? ['NAMESPACE', ...headers] : headers, result.rows.map((r) => formatStatRow(r, allNamespaces)), { left: allNamespaces ? [0, 1] : [0], rule: false, gap: 3 });
}

export interface StatIo {
  readonly out?: (s: string) => void;
  readonly err?: (s: string) => void;
  /** Ends --watch (Ctrl-C does too). */
  readonly signal?: AbortSignal;
  readonly watchIntervalMs?: number;
  /** Where to look for a kubeconfig; default: this process's environment and home. */
  readonly env?: NodeJS.ProcessEnv;
  readonly home?: string;
  /** HOST:PORT of a dashboard on this machine (default 127.0.0.1:20001). */
  readonly localAddress?: string;
}

async function fetchStat(url: string): Promise<StatResult> {
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  } catch (e) {
    const c = (e as { cause?: { code?: string; message?: string } }).cause;
      const cause = c?.code ?? c?.message ?? (e as Error).message;
    throw new Error(`cannot reach the control plane's dashboard at ${url}: ${cause} (is the control plane running with --dashboard-address? see --dashboard)`);
  }
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new Error(`${url}: HTTP ${res.status}: not JSON: ${text.trim().slice(0, 200)}`);
  }
  if (!res.ok) throw new Error(`${(body as { error?: string }).error ?? `HTTP ${res.status}`}`);
  return body as StatResult;
}

export async function statMain(argv: string[], io: StatIo = {}): Promise<number> {
  const out = io.out ?? ((s: string) => void process.stdout.write(s));
  const err = io.err ?? ((s: string) => void process.stderr.write(s));
  let values, positionals;
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      options: {
        namespace: { type: 'string', short: 'n' },
        'all-namespaces': { type: 'boolean', short: 'A' },
        from: { type: 'string' },
        to: { type: 'string' },
        'time-window': { type: 'string', short: 't' },
        watch: { type: 'boolean', short: 'w' },
        output: { type: 'string', short: 'o' },
        dashboard: { type: 'string' },
        ...KUBE_FLAG_OPTIONS,
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: true,
    }));
  } catch (e) {
    err(`minimesh stat: ${(e as Error).message}\n\n${STAT_USAGE}`);
    return 2;
  }
  if (values.help) {
    out(STAT_USAGE);
    return 0;
  }
  const usage = (msg: string): number => {
    err(`minimesh stat: ${msg}\n\n${STAT_USAGE}`);
    return 2;
  };
  if (positionals.length === 0) return usage('a resource kind is required (deploy or svc)');
  if (positionals.length > 2) return usage(`unexpected arguments: ${positionals.slice(2).join(' ')}`);
  if (values.output !== undefined && values.output !== 'json' && values.output !== 'table') return usage(`-o: expected table or json, got ${JSON.stringify(values.output)}`);
  let kindText = positionals[0];
  let name = positionals[1];
  if (kindText.includes('/')) [kindText, name] = [kindText.slice(0, kindText.indexOf('/')), kindText.slice(kindText.indexOf('/') + 1)];
  const params = new URLSearchParams();
  try {
    params.set('kind', parseStatKind('resource kind', kindText));
    if (values.from) params.set('from', `${parseStatTarget('--from', values.from).kind}/${parseStatTarget('--from', values.from).name}`);
    if (values.to) params.set('to', `${parseStatTarget('--to', values.to).kind}/${parseStatTarget('--to', values.to).name}`);
  } catch (e) {
    if (e instanceof StatParamError) return usage(e.message);
    throw e;
  }
  const all = values['all-namespaces'] ?? false;
  if (all) params.set('allNamespaces', 'true');
  else params.set('namespace', values.namespace ?? 'default');
  params.set('window', values['time-window'] ?? '1m');
  if (values.dashboard !== undefined && !/^https?:\/\/[^/]/.test(values.dashboard)) return usage(`--dashboard: expected a URL such as ${DEFAULT_DASHBOARD}, got ${JSON.stringify(values.dashboard)}`);
  let target: Target | undefined;
  try {
    target = await reachControlPlane({
      explicit: values.dashboard,
      flags: kubeFlagsOf(values),
      remotePort: PORTS.dashboard,
      localDefault: io.localAddress ?? DEFAULT_DASHBOARD.replace(/^http:\/\//, ''),
      probePath: DASHBOARD_PROBE_PATH,
      onError: (m) => err(`minimesh stat: ${m}\n`),
      env: io.env,
      home: io.home,
    });
  } catch (e) {
    err(`minimesh stat: ${(e as Error).message}\n`);
    return 1;
  }
  const base = (values.dashboard ?? `http://${target.hostPort}`).replace(/\/+$/, '');
  const url = `${base}/api/stat?${params}`;

  const once = async (): Promise<string> => {
    const result = await fetchStat(url);
    const rows = name ? result.rows.filter((r) => r.name === name) : result.rows;
    const shown = { ...result, rows };
    return values.output === 'json' ? `${JSON.stringify(shown, null, 2)}\n` : `${statTable(shown, all)}\n`;
  };
  try {
    if (!values.watch) {
      out(await once());
      return 0;
    }
    const stop = new AbortController();
    const onSigint = (): void => stop.abort();
    process.once('SIGINT', onSigint);
    io.signal?.addEventListener('abort', onSigint);
    try {
      while (!stop.signal.aborted) {
        const text = await once();
        out(`\x1b[H\x1b[2J${text}`);
        await new Promise<void>((r) => {
          const t = setTimeout(r, io.watchIntervalMs ?? 2000);
          stop.signal.addEventListener('abort', () => (clearTimeout(t), r()), { once: true });
        });
      }
    } finally {
      process.removeListener('SIGINT', onSigint);
    }
    return 0;
  } catch (e) {
    err(`minimesh stat: ${viaTarget((e as Error).message, target, PORTS.dashboard)}\n`);
    return 1;
  } finally {
    await target.close();
  }
}
