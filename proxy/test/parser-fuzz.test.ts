/**
 * Random and mutated input to the HTTP/1.1 parsers: whatever a client or an upstream sends,
 * they either parse it or throw an HttpParseError (a 4xx/5xx reply), never anything else, and a
 * chunked body split at any point frames the same as in one piece. Seeded, so a failure
 * reproduces; bounded in count, so it runs in about a second.
 */
import t from 'tap';
import { ChunkedDecoder } from '../src/http/chunked-decoder.js';
import { bodyFraming, parseRequestHead, parseResponseHead } from '../src/http/head-parser.js';
import { HttpParseError } from '../src/http/parse-error.js';

/** A small deterministic PRNG (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

const SEEDS = [1, 2, 3, 42, 1337];
const ALPHABET = ['GET', 'POST', ' ', '/', 'HTTP/1.1', 'HTTP/1.0', '\r\n', '\n', '\r', ':', 'host', 'content-length', 'transfer-encoding', 'chunked', '0', '5', 'ff', ';', '\t', '\x00', ',', 'a', 'Z', '\x7f', '\xff', '%', '?'];

function randomText(r: () => number, parts: number): string {
  let s = '';
  for (let i = 0; i < parts; i++) s += r() < 0.8 ? ALPHABET[Math.floor(r() * ALPHABET.length)] : String.fromCharCode(Math.floor(r() * 256));
  return s;
}

function mutate(r: () => number, s: string): string {
  const chars = s.split('');
  const n = 1 + Math.floor(r() * 4);
  for (let i = 0; i < n; i++) {
    const at = Math.floor(r() * (chars.length + 1));
    const op = r();
    if (op < 0.33) chars.splice(at, 1);
    else if (op < 0.66) chars.splice(at, 0, ALPHABET[Math.floor(r() * ALPHABET.length)]);
    else chars[at] = String.fromCharCode(Math.floor(r() * 256));
  }
  return chars.join('');
}

/** Runs `fn`; true if it returned or threw an HttpParseError, false on any other throw. */
function onlyParseErrors(fn: () => void): { ok: boolean; error?: unknown } {
  try {
    fn();
    return { ok: true };
  } catch (e) {
    return e instanceof HttpParseError ? { ok: true } : { ok: false, error: e };
  }
}

const VALID_REQUEST = 'POST /a/b?c=d HTTP/1.1\r\nhost: example.com\r\ncontent-length: 5\r\nx-list: a, b\r\n';
const VALID_RESPONSE = 'HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ntransfer-encoding: chunked\r\n';
const VALID_CHUNKED = '5\r\nhello\r\n3;ext=1\r\nabc\r\n0\r\nx-trailer: v\r\n\r\n';

t.test('request and response heads: random and mutated input only ever gives HttpParseError', async (t) => {
  let cases = 0;
  for (const seed of SEEDS) {
    const r = rng(seed);
    for (let i = 0; i < 2000; i++) {
      for (const text of [randomText(r, 1 + Math.floor(r() * 30)), mutate(r, VALID_REQUEST), mutate(r, VALID_RESPONSE)]) {
        const buf = Buffer.from(text, 'latin1');
        cases++;
        for (const parse of [
          () => bodyFraming(parseRequestHead(buf, 0, buf.length, 100), true),
          () => bodyFraming(parseResponseHead(buf, 0, buf.length, 100), false),
        ]) {
          const res = onlyParseErrors(parse);
          if (!res.ok) {
            t.fail(`seed ${seed}: ${JSON.stringify(text)} threw ${String(res.error)}`);
            return;
          }
        }
      }
    }
  }
  t.pass(`${cases} inputs, each parsed or refused with an HttpParseError`);
});

t.test('a parsed request head keeps no control character in any header value', async (t) => {
  const r = rng(7);
  let parsed = 0;
  for (let i = 0; i < 5000; i++) {
    const buf = Buffer.from(mutate(r, VALID_REQUEST), 'latin1');
    try {
      const h = parseRequestHead(buf, 0, buf.length, 100);
      parsed++;
      for (const v of h.values) {
        if (/[\x00-\x08\x0a-\x1f\x7f]/.test(v)) {
          t.fail(`control character kept in ${JSON.stringify(v)}`);
          return;
        }
      }
      for (const n of h.names) {
        if (!/^[!#$%&'*+\-.^_`|~0-9a-z]+$/.test(n)) {
          t.fail(`bad header name kept: ${JSON.stringify(n)}`);
          return;
        }
      }
    } catch (e) {
      if (!(e instanceof HttpParseError)) throw e;
    }
  }
  t.ok(parsed > 0, `${parsed} mutated heads parsed, all clean`);
});

t.test('chunked framing: random and mutated bodies only ever give HttpParseError', async (t) => {
  let cases = 0;
  for (const seed of SEEDS) {
    const r = rng(seed);
    for (let i = 0; i < 2000; i++) {
      for (const text of [randomText(r, 1 + Math.floor(r() * 40)), mutate(r, VALID_CHUNKED)]) {
        cases++;
        const res = onlyParseErrors(() => new ChunkedDecoder().consume(Buffer.from(text, 'latin1'), 0));
        if (!res.ok) {
          t.fail(`seed ${seed}: ${JSON.stringify(text)} threw ${String(res.error)}`);
          return;
        }
      }
    }
  }
  t.pass(`${cases} bodies`);
});

t.test('chunked framing: split at every point, the same end and the same payload', async (t) => {
  const whole = Buffer.from(VALID_CHUNKED + 'GET /next HTTP/1.1\r\n', 'latin1');
  const one: Buffer[] = [];
  const endWhole = new ChunkedDecoder((b) => one.push(Buffer.from(b))).consume(whole, 0);
  t.equal(endWhole, VALID_CHUNKED.length, 'the body ends where the next message starts');
  t.equal(Buffer.concat(one).toString(), 'helloabc', 'payload');
  for (let cut = 1; cut < VALID_CHUNKED.length; cut++) {
    const got: Buffer[] = [];
    const d = new ChunkedDecoder((b) => got.push(Buffer.from(b)));
    const first = d.consume(whole.subarray(0, cut), 0);
    if (first !== -1) {
      t.fail(`cut ${cut}: ended early at ${first}`);
      return;
    }
    const rest = whole.subarray(cut);
    const end = d.consume(rest, 0);
    if (end + cut !== endWhole || Buffer.concat(got).toString() !== 'helloabc') {
      t.fail(`cut ${cut}: end ${end + cut}, payload ${Buffer.concat(got).toString()}`);
      return;
    }
  }
  t.pass('every split point frames the same');
});
