// Command-line options of `npm run bench`.
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { repoRoot, standinProxy } from './paths.js';
import { ALL_PROTOCOLS, type Protocol } from './protocols.js';
import { proxyCommand } from './proxy.js';
import { ALL_SCENARIOS, type ScenarioName } from './scenarios.js';

export interface Options {
  quick: boolean;
  reps: number;
  /** seconds of each measured load */
  loadS: number;
  /** seconds of unmeasured warm-up load on fresh processes */
  warmupS: number;
  only: ScenarioName[];
  proxyCmd: string[];
  useWrk: boolean;
  throughputConnections: number;
  steadyRate: number;
  steadyConnections: number;
  /** CPU list (taskset -c) for the upstream and the proxies / nginx */
  cpuUnderTest: string;
  /** CPU list for the load generators */
  cpuLoad: string;
  /** CPU list for the minimesh proxies (default: cpuUnderTest) */
  cpuProxy: string | null;
  /** minimesh proxies run with `--concurrency N` (null: the proxy's default, 1) */
  concurrency: number | null;
  /** write V8 CPU profiles of the proxies here (node --cpu-prof) */
  profileDir: string | null;
  /** compare against this git revision's build, interleaved (null: the plain bench) */
  base: string | null;
  /** bootstraps carry Istio's metrics filters (istio.metadata_exchange, istio.stats) */
  metrics: boolean;
  /** the rows: HTTP/1.1 (the scenarios of `only`), h2 and gRPC (those of `only` but nginx) */
  protocols: Protocol[];
  /** the h2 and gRPC loads: this many HTTP/2 connections (h2load -c; grpc-js channels) … */
  muxConnections: number;
  /** … each with this many requests in flight (h2load -m; calls per channel) */
  muxStreams: number;
}

/** the scenarios `--base` compares (the others do not run minimesh code) */
export const COMPARED_SCENARIOS: readonly ScenarioName[] = ['proxy1', 'proxy2'];

export const USAGE = `usage: npm run bench -- [options]

  --quick              1 repetition, 3 s loads (smoke test)
  --reps N             repetitions (default 3)
  --duration S         seconds per load (default 10, 3 with --quick)
  --only a,b           scenarios among ${ALL_SCENARIOS.join(',')} (default: all);
                       proxy2-mtls = 2 proxies with mutual TLS between them (certificates made
                       at start), reported beside proxy2 with the ratio mTLS / plaintext and the
                       TLS handshakes per request of the client sidecar's cluster
  --protocols a,b      rows among ${ALL_PROTOCOLS.join(',')} (default: all). h2 = HTTP/2 cleartext
                       (h2c, prior knowledge) loaded by h2load (apt-get install -y nghttp2-client;
                       skipped, saying so, without it); grpc = unary gRPC calls loaded by grpc-js.
                       Both run direct, 1 proxy and 2 proxies (the proxies speak HTTP/2 upstream)
                       with 10 connections × 5 requests in flight; nginx is HTTP/1.1 only (it has
                       no h2c upstream)
  --proxy-cmd "CMD"    the proxy command line before "proxy --bootstrap FILE --health-port off"
                       (default: node --max-semi-space-size=2 packages/cli/bin/minimesh.js;
                        "standin" = bench's test double, bench/dist/src/dev-standin-proxy.js)
  --no-wrk             skip the wrk throughput load
  --profile DIR        run the proxies under node --cpu-prof, profiles into DIR
                       (read them with: node bench/dist/src/top-profile.js FILE)
  --concurrency N      the minimesh proxies run with --concurrency N (N workers sharing the
                       listeners; default: the proxy's own default, 1). CPU and peak RSS count
                       every process of a proxy (the primary and its workers); the peak RSS
                       column is the largest process, the sum per proxy is printed under it
  --proxy-cpus LIST    pin the minimesh proxies to these CPUs (taskset -c LIST, e.g. 0,1 to
                       allow both cores); default: with the upstream on CPU 0
  --rate N             steady-load rate in req/s (default 2000)
  --metrics            Istio's metrics on: each proxy's bootstrap has Istio's HTTP filters
                       (istio.metadata_exchange, istio.stats) as a sidecar's has, so every
                       request is recorded in istio_requests_total & co. With --base, a build
                       whose proxy does not take them (before metrics) runs without
  --base REV           compare the current build with git revision REV (a sha, a branch,
                       HEAD~3, ...): REV is checked out as a git worktree under
                       bench/results/base-<sha>/ and built there (once per sha), then each
                       repetition runs every scenario with both builds, interleaved
                       (base, current; the next repetition current, base), against the same
                       upstream and load. Prints base vs current and the verdict
                       "1 proxy: current/base req/s >= 0.95". Scenarios: proxy1,proxy2 (default
                       both), HTTP/1.1 only (no h2/grpc rows); --profile DIR writes into DIR/base and DIR/current. Exit code 3
                       when every run worked but the verdict failed
  -h, --help           this text
`;

export function parseOptions(argv: readonly string[]): Options | 'help' {
  const twoCpus = availableParallelism() >= 2;
  const o: Options = {
    quick: false,
    reps: 3,
    loadS: 10,
    warmupS: 2,
    only: [...ALL_SCENARIOS],
    proxyCmd: proxyCommand(repoRoot),
    useWrk: true,
    throughputConnections: 50,
    steadyRate: 2000,
    steadyConnections: 10,
    cpuUnderTest: '0',
    cpuLoad: twoCpus ? '1' : '0',
    cpuProxy: null,
    concurrency: null,
    profileDir: null,
    base: null,
    metrics: false,
    protocols: [...ALL_PROTOCOLS],
    muxConnections: 10,
    muxStreams: 5,
  };
  let protocolsGiven = false;
  let onlyGiven = false;
  let proxyCmdGiven = false;
  let reps: number | undefined;
  let duration: number | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    switch (a) {
      case '-h':
      case '--help':
        return 'help';
      case '--quick':
        o.quick = true;
        break;
      case '--reps':
        reps = positiveInt(a, value());
        break;
      case '--duration':
        duration = positiveInt(a, value());
        break;
      case '--only': {
        const names = value().split(',').map((s) => s.trim()).filter((s) => s !== '');
        for (const n of names) {
          if (!(ALL_SCENARIOS as readonly string[]).includes(n)) throw new Error(`--only: unknown scenario "${n}" (known: ${ALL_SCENARIOS.join(', ')})`);
        }
        o.only = ALL_SCENARIOS.filter((s) => names.includes(s));
        onlyGiven = true;
        break;
      }
      case '--protocols': {
        const names = value().split(',').map((s) => s.trim()).filter((s) => s !== '');
        for (const n of names) {
          if (!(ALL_PROTOCOLS as readonly string[]).includes(n)) throw new Error(`--protocols: unknown protocol "${n}" (known: ${ALL_PROTOCOLS.join(', ')})`);
        }
        if (names.length === 0) throw new Error(`--protocols needs at least one of ${ALL_PROTOCOLS.join(', ')}`);
        o.protocols = ALL_PROTOCOLS.filter((p) => names.includes(p));
        protocolsGiven = true;
        break;
      }
      case '--proxy-cmd': {
        const v = value().trim();
        o.proxyCmd = v === 'standin' ? [process.execPath, standinProxy] : v.split(/\s+/);
        proxyCmdGiven = true;
        break;
      }
      case '--profile':
        o.profileDir = resolve(value());
        break;
      case '--base': {
        const v = value().trim();
        if (v === '' || v.startsWith('-')) throw new Error(`--base needs a git revision, got "${v}"`);
        o.base = v;
        break;
      }
      case '--metrics':
        o.metrics = true;
        break;
      case '--no-wrk':
        o.useWrk = false;
        break;
      case '--concurrency':
        o.concurrency = positiveInt(a, value());
        break;
      case '--proxy-cpus': {
        const v = value().trim();
        if (!/^\d+([-,]\d+)*$/.test(v)) throw new Error(`--proxy-cpus needs a CPU list as taskset -c takes it (0 or 0,1 or 0-1), got "${v}"`);
        o.cpuProxy = v;
        break;
      }
      case '--rate':
        o.steadyRate = positiveInt(a, value());
        break;
      default:
        throw new Error(`unknown option ${a}\n\n${USAGE}`);
    }
  }
  o.reps = reps ?? (o.quick ? 1 : 3);
  o.loadS = duration ?? (o.quick ? 3 : 10);
  o.warmupS = o.quick ? 1 : 2;
  if (o.base !== null) {
    if (proxyCmdGiven) throw new Error('--base runs each build\'s own packages/cli/bin/minimesh.js: it does not go with --proxy-cmd');
    if (protocolsGiven && o.protocols.some((p) => p !== 'http1')) throw new Error('--base compares the HTTP/1.1 row only; drop h2,grpc from --protocols');
    o.protocols = ['http1'];
    if (!onlyGiven) o.only = [...COMPARED_SCENARIOS];
    const other = o.only.filter((s) => !COMPARED_SCENARIOS.includes(s));
    if (other.length > 0) throw new Error(`--base compares ${COMPARED_SCENARIOS.join(',')} only; drop ${other.join(',')} from --only`);
  }
  return o;
}

function positiveInt(flag: string, v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${flag} needs a positive integer, got "${v}"`);
  return n;
}
