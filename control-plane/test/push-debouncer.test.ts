/** Istio's debounce: one push per burst, after 100 ms quiet or 1 s at most. */
import t from 'tap';
import { PushDebouncer } from '../src/server/push-debouncer.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

t.test('a burst becomes one push after the quiet period', async (t) => {
  let fired = 0;
  const d = new PushDebouncer(() => fired++, { quietMs: 50, maxMs: 1000 });
  for (let i = 0; i < 5; i++) {
    d.trigger();
    await sleep(10);
  }
  t.equal(fired, 0, 'not during the burst');
  await sleep(80);
  t.equal(fired, 1, 'once after it');
  d.stop();
});

t.test('a change stream that never goes quiet still pushes at the max', async (t) => {
  const at: number[] = [];
  const start = Date.now();
  const d = new PushDebouncer(() => at.push(Date.now() - start), { quietMs: 50, maxMs: 200 });
  // Changes every 20 ms, never quiet for 50 ms: pushes must still come, each after about maxMs.
  // (A busy machine stretches the timers, so the loop runs until two pushes or 5 s.)
  while (at.length < 2 && Date.now() - start < 5000) {
    d.trigger();
    await sleep(20);
  }
  d.stop();
  t.ok(at.length >= 2, `pushed ${at.length} times while changes never stopped`);
  t.ok(at[0] >= 190, `the first push waited for the max (${at[0]} ms, max 200)`);
  t.ok(at[1] - at[0] >= 190, `the next one too (${at[1] - at[0]} ms later)`);
});
