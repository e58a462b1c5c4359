import t from 'tap';
import { eventLoopDelayLines, startEventLoopDelay } from '../src/observability/event-loop-delay.js';

t.test('the event-loop delay gauges: none before start, then a blocked loop shows', async (t) => {
  t.same(eventLoopDelayLines(), [], 'no lines until measuring starts');
  startEventLoopDelay();
  startEventLoopDelay(); // idempotent
  await new Promise((r) => setTimeout(r, 50));
  const until = Date.now() + 80;
  while (Date.now() < until) {
    /* block the loop for 80 ms */
  }
  const deadline = Date.now() + 15_000;
  let lines: string[] = [];
  let max = 0;
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    lines = eventLoopDelayLines();
    max = Number(/server\.event_loop_delay_ms_max: ([\d.]+)/.exec(lines.join('\n'))?.[1] ?? 0);
    if (max >= 50) break;
  }
  t.match(lines[0], /^server\.event_loop_delay_ms_p99: \d+\.\d{3}$/);
  t.ok(max >= 50, `the 80-ms block shows in the max gauge (${max} ms)`);
});
