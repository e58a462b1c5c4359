// Print the functions with the most self time in a V8 .cpuprofile (from `node --cpu-prof`).
//
//   node bench/dist/src/top-profile.js FILE.cpuprofile [--top 15]
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { renderTable } from './table.js';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface SelfTime {
  name: string;
  location: string;
  selfMs: number;
  samples: number;
}

/** self time per function (nodes of the same function and position merged), largest first */
export function selfTimes(p: CpuProfile): { rows: SelfTime[]; totalMs: number } {
  const nodeById = new Map(p.nodes.map((n) => [n.id, n]));
  const byKey = new Map<string, SelfTime>();
  let totalUs = 0;
  for (let i = 0; i < p.samples.length; i++) {
    // timeDeltas[i] is the time since the previous sample; charge sample i with the gap to the next one
    const dt = p.timeDeltas[i + 1] ?? 0;
    totalUs += dt;
    const node = nodeById.get(p.samples[i]);
    if (node === undefined) continue;
    const f = node.callFrame;
    const name = f.functionName === '' ? '(anonymous)' : f.functionName;
    const location = f.url === '' ? '' : `${f.url.startsWith('node:') ? f.url : basename(f.url)}:${f.lineNumber + 1}`;
    const key = `${name}\u0000${location}`;
    const row = byKey.get(key) ?? { name, location, selfMs: 0, samples: 0 };
    row.selfMs += dt / 1000;
    row.samples++;
    byKey.set(key, row);
  }
  const rows = [...byKey.values()].sort((a, b) => b.selfMs - a.selfMs);
  return { rows, totalMs: totalUs / 1000 };
}

function main(): void {
  const args = process.argv.slice(2);
  const topAt = args.indexOf('--top');
  const top = topAt >= 0 ? Number(args[topAt + 1]) : 15;
  const file = args.find((a, i) => !a.startsWith('--') && (topAt < 0 || i !== topAt + 1));
  if (file === undefined || !Number.isInteger(top) || top <= 0) {
    process.stderr.write('usage: node bench/dist/src/top-profile.js FILE.cpuprofile [--top 15]\n');
    process.exit(2);
  }
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const { rows, totalMs } = selfTimes(profile);
  const idle = rows.filter((r) => r.name === '(idle)').reduce((s, r) => s + r.selfMs, 0);
  const busy = totalMs - idle;
  process.stdout.write(`${file}: ${(totalMs / 1000).toFixed(2)} s sampled, ${(busy / 1000).toFixed(2)} s not idle\n\n`);
  const shown = rows.filter((r) => r.name !== '(idle)').slice(0, top);
  process.stdout.write(
    `${renderTable(
      ['#', 'self ms', '% busy', 'function', 'where'],
      shown.map((r, i) => [String(i + 1), r.selfMs.toFixed(1), busy > 0 ? ((100 * r.selfMs) / busy).toFixed(1) : '-', r.name, r.location]),
      [3, 4],
    )}\n`,
  );
}

main();
