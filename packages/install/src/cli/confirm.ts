/** istioctl's `Proceed? (y/N)`: one line from stdin; anything but y/yes, or no input at all, is no. */
import { createInterface } from 'node:readline';

export function confirm(question: string, input: NodeJS.ReadableStream = process.stdin, out: NodeJS.WritableStream = process.stdout): Promise<boolean> {
  return new Promise((resolve) => {
    out.write(`${question} (y/N) `);
    const rl = createInterface({ input, terminal: false });
    let answered = false;
    rl.once('line', (line) => {
      answered = true;
      rl.close();
      resolve(/^\s*y(es)?\s*$/i.test(line));
    });
    rl.once('close', () => {
      if (!answered) {
        out.write('\n');
        resolve(false);
      }
    });
  });
}
