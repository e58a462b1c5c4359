/**
 * istioctl's install progress: a spinner line naming what is being waited for while
 * components are applied (rewritten in place on a terminal; printed once per change
 * otherwise, so a log shows it too), `✔ <component> installed` when one is ready, and
 * `✘ <component> encountered an error: ...` when one fails.
 */
import type { Writable } from 'node:stream';

const SPINNER = ['-', '\\', '|', '/'];

export class InstallProgress {
  private readonly waiting = new Map<string, string[]>(); // component title -> waited-for names
  private spin = 0;
  private timer: NodeJS.Timeout | undefined;
  private shown = '';
  private readonly tty: boolean;

  constructor(private readonly out: Writable & { isTTY?: boolean }) {
    this.tty = out.isTTY === true && process.env.TERM !== 'dumb';
  }

  /** A component is being applied, waiting for these objects. */
  waitingFor(component: string, names: string[]): void {
    this.waiting.set(component, names);
    this.render();
  }

  done(component: string): void {
    this.waiting.delete(component);
    this.print(`✔ ${component} installed`);
  }

  failed(component: string, message: string): void {
    this.waiting.delete(component);
    this.print(`✘ ${component} encountered an error: ${message}`);
  }

  /** A line of its own (above the spinner). */
  print(line: string): void {
    this.clear();
    this.out.write(`${line}\n`);
    this.render();
  }

  stop(): void {
    this.clear();
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private line(): string {
    if (this.waiting.size === 0) return '';
    const comps = [...this.waiting.keys()].join(', ');
    const names = [...this.waiting.values()].flat();
    return `Processing resources for ${comps}.${names.length ? ` Waiting for ${names.join(', ')}` : ''}`;
  }

  private render(): void {
    const text = this.line();
    if (!this.tty) {
      if (text && text !== this.shown) this.out.write(`- ${text}\n`);
      this.shown = text;
      return;
    }
    this.shown = text;
    if (!text) return;
    this.out.write(`\r\x1b[K${SPINNER[this.spin % SPINNER.length]} ${text}`);
    this.timer ??= setInterval(() => {
      this.spin++;
      if (this.shown) this.out.write(`\r\x1b[K${SPINNER[this.spin % SPINNER.length]} ${this.shown}`);
    }, 120);
    this.timer.unref();
  }

  private clear(): void {
    if (this.tty && this.shown) this.out.write('\r\x1b[K');
  }
}
