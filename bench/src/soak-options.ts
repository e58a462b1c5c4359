// `npm run bench:soak` flags.
import { parseArgs } from 'node:util';
import type { Thresholds } from './soak-report.js';

export const SOAK_USAGE = `Usage: npm run bench:soak -- [options]

Holds a constant request rate through two sidecars of a local mesh (client load -> client
sidecar -> server sidecar -> server app) with config pushes and one upstream restart, samples
RSS, event-loop delay and file descriptors every 5 s, prints a table per slice (60 s when the run
lasts 4 minutes or more, else a fifth of it) and the verdicts; exits 1 when one fails.

Options:
  --duration D        how long the load runs (default 10m; e.g. 4m, 70s, 600)
  --rate N            requests per second (default 2000)
  --connections N     keep-alive connections of the load (default 32)
  --push-every D      config push interval (default 30s, or duration/7 for runs under 3.5 minutes, at least 5s)
  --restart-at F      when the server app is killed, as a fraction of the duration (default 0.5)
  --restart-down D    how long it stays down before it starts again (default 2s)
  --restart-grace D   after it answers again, how long failures still count as the restart's (default 5s)
  --min-rate F        the achieved-rate verdict: at least F of --rate (default 0.95)
  --rss-growth F      the RSS verdict: last slice's median at most (1+F) x the second's (default 0.10)
  --out FILE          the JSON results (default bench/results/soak-<time>.json)
  -h, --help          this help
`;

export interface SoakOptions {
  durationS: number;
  rate: number;
  connections: number;
  pushEveryS: number;
  restartAt: number;
  restartDownS: number;
  restartGraceS: number;
  thresholds: Thresholds;
  out: string | null;
}

export class SoakUsageError extends Error {}

/** `4m`, `70s`, `1h`, `1500ms` or plain seconds, in seconds. */
export function parseDurationS(text: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (m === null) throw new SoakUsageError(`${flag}: not a duration: ${text} (e.g. 4m, 70s, 600)`);
  const n = Number(m[1]) * ({ ms: 0.001, s: 1, m: 60, h: 3600 }[m[2] ?? 's'] ?? 1);
  if (!(n > 0)) throw new SoakUsageError(`${flag}: must be above 0: ${text}`);
  return n;
}

function num(text: string | undefined, flag: string, dflt: number, ok: (n: number) => boolean): number {
  if (text === undefined) return dflt;
  const n = Number(text);
  if (!Number.isFinite(n) || !ok(n)) throw new SoakUsageError(`${flag}: out of range: ${text}`);
  return n;
}

export function defaultPushEveryS(durationS: number): number {
  return durationS >= 210 ? 30 : Math.max(5, Math.round(durationS / 7));
}

export function parseSoakArgs(argv: string[]): SoakOptions | 'help' {
  const { values } = parseArgs({
    args: argv,
    options: {
      duration: { type: 'string' },
      rate: { type: 'string' },
      connections: { type: 'string' },
      'push-every': { type: 'string' },
      'restart-at': { type: 'string' },
      'restart-down': { type: 'string' },
      'restart-grace': { type: 'string' },
      'min-rate': { type: 'string' },
      'rss-growth': { type: 'string' },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help === true) return 'help';
  const durationS = values.duration === undefined ? 600 : parseDurationS(values.duration, '--duration');
  if (durationS < 30) throw new SoakUsageError(`--duration: at least 30s (the verdicts compare slices of it): ${values.duration}`);
  return {
    durationS,
    rate: num(values.rate, '--rate', 2000, (n) => n > 0),
    connections: num(values.connections, '--connections', 32, (n) => Number.isInteger(n) && n > 0 && n <= 1000),
    pushEveryS: values['push-every'] === undefined ? defaultPushEveryS(durationS) : parseDurationS(values['push-every'], '--push-every'),
    restartAt: num(values['restart-at'], '--restart-at', 0.5, (n) => n > 0 && n < 1),
    restartDownS: values['restart-down'] === undefined ? 2 : parseDurationS(values['restart-down'], '--restart-down'),
    restartGraceS: values['restart-grace'] === undefined ? 5 : parseDurationS(values['restart-grace'], '--restart-grace'),
    thresholds: {
      rssGrowth: num(values['rss-growth'], '--rss-growth', 0.1, (n) => n > 0),
      fdSlack: 4,
      minRateRatio: num(values['min-rate'], '--min-rate', 0.95, (n) => n > 0 && n <= 1),
    },
    out: values.out ?? null,
  };
}
