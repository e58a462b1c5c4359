/**
 * A tiny authoritative DNS server over UDP for tests: it answers A (and AAAA) questions
 * from a table the test changes at will, NXDOMAIN for unknown names, and can be told to
 * fail (SERVFAIL). Tests point a resolver at it (node:dns `setServers`, the proxy's
 * `--dns-resolvers`), so no external name is ever looked up for real.
 */
import dgram from 'node:dgram';
import { once } from 'node:events';
import { isIPv4, isIPv6 } from 'node:net';

export interface FakeDnsServer {
  /** `127.0.0.1:PORT`, for `setServers` / `--dns-resolvers`. */
  readonly address: string;
  /** Name (lower case, no trailing dot) -> addresses; edit it to change answers. */
  readonly records: Map<string, string[]>;
  /** While true, every query gets SERVFAIL. */
  failing: boolean;
  /** Questions received, as `TYPE name`. */
  readonly queries: string[];
  close(): Promise<void>;
}

const TYPE_A = 1;
const TYPE_AAAA = 28;

/** Reads the question's name (no compression in questions) and returns it with the offset after it. */
function readName(msg: Buffer, at: number): { name: string; end: number } {
  const labels: string[] = [];
  let i = at;
  while (i < msg.length && msg[i] !== 0) {
    const len = msg[i];
    labels.push(msg.subarray(i + 1, i + 1 + len).toString('latin1'));
    i += 1 + len;
  }
  return { name: labels.join('.').toLowerCase(), end: i + 1 };
}

function ipBytes(ip: string): Buffer {
  if (isIPv4(ip)) return Buffer.from(ip.split('.').map(Number));
  const halves = ip.split('::');
  const head = halves[0] ? halves[0].split(':') : [];
  const tail = halves.length > 1 && halves[1] ? halves[1].split(':') : [];
  const groups = [...head, ...Array<string>(8 - head.length - tail.length).fill('0'), ...tail];
  const b = Buffer.alloc(16);
  groups.forEach((g, k) => b.writeUInt16BE(parseInt(g, 16), k * 2));
  return b;
}

/** The reply to one query message (undefined: not a query we can read). */
export function answerDnsQuery(msg: Buffer, records: ReadonlyMap<string, readonly string[]>, failing: boolean): { reply: Buffer; question: string } | undefined {
  if (msg.length < 12 || msg.readUInt16BE(4) !== 1) return undefined;
  const { name, end } = readName(msg, 12);
  if (end + 4 > msg.length) return undefined;
  const qtype = msg.readUInt16BE(end);
  const question = msg.subarray(12, end + 4);
  const known = records.get(name);
  const addrs = (known ?? []).filter((a) => (qtype === TYPE_A ? isIPv4(a) : qtype === TYPE_AAAA ? isIPv6(a) : false));
  const rcode = failing ? 2 : known === undefined ? 3 : 0;
  const header = Buffer.alloc(12);
  header.writeUInt16BE(msg.readUInt16BE(0), 0); // id
  header.writeUInt16BE(0x8400 | (msg.readUInt16BE(2) & 0x0100) | rcode, 2); // QR, AA, RD copied
  header.writeUInt16BE(1, 4);
  const answers = rcode === 0 ? addrs : [];
  header.writeUInt16BE(answers.length, 6);
  const rrs = answers.map((a) => {
    const data = ipBytes(a);
    const rr = Buffer.alloc(12);
    rr.writeUInt16BE(0xc00c, 0); // the name: a pointer to the question
    rr.writeUInt16BE(qtype, 2);
    rr.writeUInt16BE(1, 4); // IN
    rr.writeUInt32BE(1, 6); // TTL 1 s
    rr.writeUInt16BE(data.length, 10);
    return Buffer.concat([rr, data]);
  });
  return { reply: Buffer.concat([header, question, ...rrs]), question: `${qtype === TYPE_A ? 'A' : qtype === TYPE_AAAA ? 'AAAA' : String(qtype)} ${name}` };
}

/** Starts the server on 127.0.0.1 (a free port unless given). */
export async function startFakeDnsServer(records: Record<string, string[]> = {}, port = 0): Promise<FakeDnsServer> {
  const socket = dgram.createSocket('udp4');
  const server: FakeDnsServer = {
    address: '',
    records: new Map(Object.entries(records).map(([k, v]) => [k.toLowerCase(), v])),
    failing: false,
    queries: [],
    close: async () => {
      socket.close();
      await once(socket, 'close');
    },
  };
  socket.on('message', (msg, rinfo) => {
    const r = answerDnsQuery(msg, server.records, server.failing);
    if (r === undefined) return;
    server.queries.push(r.question);
    socket.send(r.reply, rinfo.port, rinfo.address);
  });
  socket.bind(port, '127.0.0.1');
  await once(socket, 'listening');
  (server as { address: string }).address = `127.0.0.1:${socket.address().port}`;
  return server;
}
