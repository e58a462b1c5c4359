/**
 * A parser for Prometheus's text exposition format (version 0.0.4): one sample per line,
 * `name{label="value",...} value [timestamp]`, comments and `# TYPE`/`# HELP` lines ignored.
 * It never throws: a line it cannot read is skipped and counted, with the first few reasons kept
 * so a scrape can report what was wrong and where.
 */

export type Labels = Readonly<Record<string, string>>;

export interface Sample {
  readonly name: string;
  readonly labels: Labels;
  readonly value: number;
}

export interface ParseResult {
  readonly samples: Sample[];
  /** Lines that were neither blank, comments nor samples. */
  readonly skipped: number;
  /** The first few problems, `line N: reason`. */
  readonly problems: string[];
}

const NAME_START = /[a-zA-Z_:]/;
const NAME_CHAR = /[a-zA-Z0-9_:]/;
const LABEL_START = /[a-zA-Z_]/;
const LABEL_CHAR = /[a-zA-Z0-9_]/;
const MAX_PROBLEMS = 5;

class LineError extends Error {}

function parseValue(text: string): number {
  switch (text) {
    case '+Inf':
    case 'Inf':
      return Infinity;
    case '-Inf':
      return -Infinity;
    case 'NaN':
      return NaN;
  }
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) throw new LineError(`value ${JSON.stringify(text)} is not a number`);
  return Number(text);
}

/** Parses one sample line (not blank, not a comment). */
export function parseSampleLine(line: string): Sample {
  let i = 0;
  if (!NAME_START.test(line[0] ?? '')) throw new LineError('expected a metric name');
  while (i < line.length && NAME_CHAR.test(line[i])) i++;
  const name = line.slice(0, i);
  const labels: Record<string, string> = {};
  if (line[i] === '{') {
    i++;
    for (;;) {
      while (line[i] === ' ') i++;
      if (line[i] === '}') {
        i++;
        break;
      }
      const start = i;
      if (!LABEL_START.test(line[i] ?? '')) throw new LineError(`expected a label name at column ${i + 1}`);
      while (i < line.length && LABEL_CHAR.test(line[i])) i++;
      const label = line.slice(start, i);
      while (line[i] === ' ') i++;
      if (line[i] !== '=') throw new LineError(`expected = after label ${label}`);
      i++;
      while (line[i] === ' ') i++;
      if (line[i] !== '"') throw new LineError(`expected a quoted value for label ${label}`);
      i++;
      let value = '';
      for (;;) {
        const c = line[i];
        if (c === undefined) throw new LineError(`unterminated value for label ${label}`);
        i++;
        if (c === '"') break;
        if (c === '\\') {
          const e = line[i++];
          value += e === 'n' ? '\n' : e === '\\' ? '\\' : e === '"' ? '"' : `\\${e ?? ''}`;
        } else value += c;
      }
      if (label in labels) throw new LineError(`label ${label} repeated`);
      labels[label] = value;
      while (line[i] === ' ') i++;
      if (line[i] === ',') i++;
      else if (line[i] !== '}') throw new LineError(`expected , or } after label ${label}`);
    }
  }
  const rest = line.slice(i).trim().split(/\s+/);
  if (rest.length < 1 || rest[0] === '') throw new LineError(`no value for ${name}`);
  if (rest.length > 2) throw new LineError(`unexpected text after the value of ${name}`);
  if (rest.length === 2 && !/^-?\d+$/.test(rest[1])) throw new LineError(`timestamp ${JSON.stringify(rest[1])} is not an integer`);
  return { name, labels, value: parseValue(rest[0]) };
}

/** Parses a whole exposition; `keep` filters by metric name before labels are kept. */
export function parseExposition(text: string, keep?: (name: string) => boolean): ParseResult {
  const samples: Sample[] = [];
  const problems: string[] = [];
  let skipped = 0;
  const lines = text.split('\n');
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n].trim();
    if (line === '' || line.startsWith('#')) continue;
    if (keep) {
      const m = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line);
      if (m && !keep(m[0])) continue;
    }
    try {
      samples.push(parseSampleLine(line));
    } catch (e) {
      skipped++;
      if (problems.length < MAX_PROBLEMS) problems.push(`line ${n + 1}: ${(e as Error).message}`);
    }
  }
  return { samples, skipped, problems };
}
