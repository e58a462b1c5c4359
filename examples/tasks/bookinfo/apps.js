#!/usr/bin/env node
// A small stand-in for the Bookinfo sample's four services, one process per pod:
//   SERVICE=productpage|details|reviews|ratings  VERSION=v1|v2|v3  PORT=<container port>
//   HTTP_PROXY=http://POD_IP:15001 (the pod's sidecar, a forward proxy for outbound calls)
// It listens on 127.0.0.1:PORT as an app in its pod would; its sidecar takes inbound traffic
// on POD_IP:PORT. What the traffic tasks rely on behaves as Bookinfo does:
//   - productpage calls details (3 s timeout) and reviews (3 s timeout, tried twice), and
//     passes the user on in the `end-user` header (from an `end-user` header, a `user` cookie
//     or `?u=NAME`; `GET /login?user=NAME` sets the cookie);
//   - reviews v1 shows no stars; v2 black stars and v3 red stars, from ratings (timeout 10 s
//     for v2, 2.5 s for v3), and "Ratings service is currently unavailable" when that fails;
//   - productpage says "Sorry, product reviews are currently unavailable for this book." when
//     reviews fails or is too slow.
// Answers are plain text for productpage (readable with curl) and JSON for the others.
import http from 'node:http';

const SERVICE = process.env.SERVICE ?? '';
const VERSION = process.env.VERSION ?? 'v1';
const PORT = Number(process.env.PORT);
const POD = process.env.POD_NAME ?? `${SERVICE}-${VERSION}`;
const proxy = new URL(process.env.HTTP_PROXY ?? 'http://127.0.0.1:15001');

/** Headers Bookinfo passes from each request to the calls it makes (the user, the request id, tracing). */
const PROPAGATED = ['end-user', 'x-request-id', 'traceparent', 'tracestate', 'x-b3-traceid', 'x-b3-spanid', 'x-b3-parentspanid', 'x-b3-sampled', 'x-b3-flags', 'b3', 'user-agent'];

function propagate(req, extra = {}) {
  const out = { ...extra };
  for (const h of PROPAGATED) if (typeof req.headers[h] === 'string') out[h] = req.headers[h];
  return out;
}

/** GET `http://SERVICE:9080PATH` through the sidecar; resolves { status, body } or { error }. */
function call(service, path, headers, timeoutMs) {
  const url = `http://${service}:9080${path}`;
  return new Promise((resolve) => {
    const req = http.request({ host: proxy.hostname, port: Number(proxy.port), path: url, headers: { ...headers, host: `${service}:9080` }, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode, body }));
      res.on('error', (e) => resolve({ error: e.message }));
    });
    const timer = setTimeout(() => req.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    req.on('close', () => clearTimeout(timer));
    req.on('error', (e) => resolve({ error: e.message }));
    req.end();
  });
}

function json(res, status, value) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(value));
}

// ---- ratings ------------------------------------------------------------------------------
function ratings(req, res, id) {
  json(res, 200, { id, ratings: { Reader1: 5, Reader2: 4 } });
}

// ---- details --------------------------------------------------------------------------------
function details(req, res, id) {
  json(res, 200, { id, author: 'William Shakespeare', year: 1595, type: 'paperback', pages: 200, publisher: 'A Publisher', language: 'English', 'ISBN-10': '1234567890', 'ISBN-13': '123-1234567890' });
}

// ---- reviews --------------------------------------------------------------------------------
const REVIEWS = [
  { reviewer: 'Reader1', text: 'A fast, funny play: two pairs of twins and one long day of mistaken identities.' },
  { reviewer: 'Reader2', text: 'Great fun on stage, though lighter than the later comedies.' },
];
/** Star colour and the time reviews waits for ratings, per version (v1 does not call ratings). */
const STARS = { v2: { color: 'black', timeoutMs: 10000 }, v3: { color: 'red', timeoutMs: 2500 } };

async function reviews(req, res, id) {
  const stars = STARS[VERSION];
  let rated;
  if (stars) {
    const r = await call('ratings', `/ratings/${id}`, propagate(req), stars.timeoutMs);
    rated = r.status === 200 ? JSON.parse(r.body).ratings : undefined;
  }
  const list = REVIEWS.map((rv) => {
    if (!stars) return rv;
    if (!rated) return { ...rv, rating: { error: 'Ratings service is currently unavailable' } };
    return { ...rv, rating: { stars: rated[rv.reviewer], color: stars.color } };
  });
  json(res, 200, { id, podname: POD, version: VERSION, reviews: list });
}

// ---- productpage ----------------------------------------------------------------------------
function userOf(req, url) {
  if (typeof req.headers['end-user'] === 'string' && req.headers['end-user'] !== '') return req.headers['end-user'];
  if (url.searchParams.get('u')) return url.searchParams.get('u');
  const cookie = /(?:^|;\s*)user=([^;]+)/.exec(req.headers.cookie ?? '');
  return cookie ? decodeURIComponent(cookie[1]) : undefined;
}

function starLine(rating) {
  if (rating.error) return rating.error;
  const full = '★'.repeat(rating.stars) + '☆'.repeat(5 - rating.stars);
  return `${full} (${rating.color} stars)`;
}

async function productpage(req, res, url) {
  const user = userOf(req, url);
  const headers = propagate(req, user ? { 'end-user': user } : {});
  const started = Date.now();
  const [det, rev] = await Promise.all([
    call('details', '/details/0', headers, 3000),
    (async () => {
      // Bookinfo's productpage: 3 s per try, two tries, a 200 wins.
      let r;
      for (let i = 0; i < 2; i++) {
        r = await call('reviews', '/reviews/0', headers, 3000);
        if (r.status === 200) break;
      }
      return r;
    })(),
  ]);
  const lines = ['The Comedy of Errors', `(productpage ${VERSION}, ${user ? `signed in as ${user}` : 'not signed in'})`, ''];
  if (det.status === 200) {
    const d = JSON.parse(det.body);
    lines.push(`Book details: ${d.author}, ${d.year}, ${d.type}, ${d.pages} pages, ${d.publisher}, ${d.language}`);
  } else lines.push('Error fetching product details! Sorry, product details are currently unavailable for this book.');
  lines.push('');
  if (rev.status === 200) {
    const r = JSON.parse(rev.body);
    lines.push(`Book reviews (from ${r.podname}, reviews-${r.version}):`);
    for (const rv of r.reviews) lines.push(`  ${rv.reviewer}: ${rv.text}`, ...(rv.rating ? [`    ${starLine(rv.rating)}`] : []));
  } else lines.push('Error fetching product reviews! Sorry, product reviews are currently unavailable for this book.');
  lines.push('', `(page built in ${Date.now() - started} ms)`, '');
  res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
  res.end(lines.join('\n'));
}

function login(req, res, url) {
  const user = url.searchParams.get('user') ?? '';
  res.writeHead(302, { location: '/productpage', 'set-cookie': user ? `user=${encodeURIComponent(user)}; Path=/` : 'user=; Path=/; Max-Age=0' });
  res.end(user ? `signed in as ${user}\n` : 'signed out\n');
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://app');
  const id = Number(url.pathname.split('/')[2] ?? 0) || 0;
  const route = `${SERVICE} ${url.pathname.split('/')[1]}`;
  const fail = (e) => {
    if (!res.headersSent) json(res, 500, { error: String(e?.message ?? e) });
  };
  if (url.pathname === '/health') return json(res, 200, { status: `${SERVICE} is healthy` });
  switch (route) {
    case 'productpage productpage':
      return void productpage(req, res, url).catch(fail);
    case 'productpage login':
      return login(req, res, url);
    case 'productpage logout':
      return login(req, res, new URL('http://app/logout'));
    case 'details details':
      return details(req, res, id);
    case 'reviews reviews':
      return void reviews(req, res, id).catch(fail);
    case 'ratings ratings':
      return ratings(req, res, id);
    default:
      return json(res, 404, { error: `${SERVICE}: no ${url.pathname}` });
  }
});
if (!['productpage', 'details', 'reviews', 'ratings'].includes(SERVICE) || !Number.isInteger(PORT) || PORT <= 0) {
  console.error(`apps.js: SERVICE must be productpage, details, reviews or ratings and PORT a port number (got SERVICE=${SERVICE} PORT=${process.env.PORT})`);
  process.exit(2);
}
server.listen(PORT, '127.0.0.1', () => console.log(`${SERVICE} ${VERSION} listening on 127.0.0.1:${PORT}, calls out through ${proxy.host}`));
process.on('SIGTERM', () => process.exit(0));
