/** HTTP/1.1 head text: status lines and header lines, as the codecs write them. */
import { STATUS_CODES } from 'node:http';

const STATUS_LINES: string[] = [];

/** `HTTP/1.1 200 OK\r\n`, built once per status code. */
export function statusLine(status: number): string {
  return (STATUS_LINES[status] ??= `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Unknown'}\r\n`);
}

/** `name: value\r\n` for each header of the lists. */
export function headerLines(names: readonly string[], values: readonly string[]): string {
  let text = '';
  for (let i = 0; i < names.length; i++) text += `${names[i]}: ${values[i]}\r\n`;
  return text;
}
