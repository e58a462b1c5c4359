// Print the functions with the most self time in a V8 .cpuprofile (from `node --cpu-prof`).
//
//   node bench/dist/src/top-profile.js FILE.cpuprofile [--top 15]
import { readFileSync } from 'node:fs';
import { selfTimes, type CpuProfile } from './cpuprofile.js';
import { renderTable } from './table.js';

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
