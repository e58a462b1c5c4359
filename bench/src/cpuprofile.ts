// Self time per function in a V8 .cpuprofile (the JSON written by `node --cpu-prof`).
import { basename } from 'node:path';

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

export interface CpuProfile {
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
