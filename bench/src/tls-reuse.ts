// How often "2 proxies, mTLS" pays for a TLS handshake: the client sidecar's cluster counters
// (`cluster.upstream.ssl.handshake`, `upstream_cx_total`, `upstream_rq_total`) and the server
// sidecar's listener counter (`listener.127.0.0.1_<port>.ssl.handshake`), read from their
// admin `/stats` before and after a load.

/** The counters of the mTLS link at one moment. */
export interface TlsCounters {
  /** the client sidecar's TLS handshakes to the server sidecar */
  handshakes: number;
  /** the client sidecar's upstream connections opened */
  connections: number;
  /** the client sidecar's upstream requests */
  requests: number;
  /** the server sidecar's handshakes on its listener */
  serverHandshakes: number;
}

/** What a load cost in handshakes: the counters' growth over it, and the requests it made. */
export interface TlsReuse extends TlsCounters {
  /** handshakes ÷ upstream requests over the load (0: every request rode a connection opened before) */
  handshakesPerRequest: number | null;
  /** the same counters since the proxies started (warm-up included), for the record */
  sinceStart: TlsCounters;
}

/** `name: value` lines of an Envoy-style `/stats` text into a map (other lines are skipped). */
export function parseStatsText(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^(\S+): (-?\d+(?:\.\d+)?)$/.exec(line.trim());
    if (m !== null) out.set(m[1], Number(m[2]));
  }
  return out;
}

function statOf(stats: Map<string, number>, name: string, where: string): number {
  const v = stats.get(name);
  if (v === undefined) throw new Error(`${where} /stats has no ${name}`);
  return v;
}

async function fetchStats(adminPort: number, what: string): Promise<Map<string, number>> {
  const url = `http://127.0.0.1:${adminPort}/stats`;
  const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
  if (res.status !== 200) throw new Error(`${what} ${url} answered ${res.status}`);
  return parseStatsText(await res.text());
}

/** The counters of the mTLS link, from the two sidecars' admin ports. */
export async function readTlsCounters(client: { adminPort: number }, server: { adminPort: number; listenPort: number }, cluster = 'upstream'): Promise<TlsCounters> {
  const [c, s] = await Promise.all([fetchStats(client.adminPort, 'the client sidecar'), fetchStats(server.adminPort, 'the server sidecar')]);
  return {
    handshakes: statOf(c, `cluster.${cluster}.ssl.handshake`, 'the client sidecar'),
    connections: statOf(c, `cluster.${cluster}.upstream_cx_total`, 'the client sidecar'),
    requests: statOf(c, `cluster.${cluster}.upstream_rq_total`, 'the client sidecar'),
    serverHandshakes: statOf(s, `listener.127.0.0.1_${server.listenPort}.ssl.handshake`, 'the server sidecar'),
  };
}

/** The growth of the counters from `before` to `after`. */
export function tlsReuse(before: TlsCounters, after: TlsCounters): TlsReuse {
  const d = (k: keyof TlsCounters): number => after[k] - before[k];
  const requests = d('requests');
  const handshakes = d('handshakes');
  return {
    handshakes,
    connections: d('connections'),
    requests,
    serverHandshakes: d('serverHandshakes'),
    handshakesPerRequest: requests > 0 ? handshakes / requests : null,
    sinceStart: after,
  };
}

/** "N handshakes for M requests": over the load, then since the proxies started. */
export function reuseNote(r: TlsReuse): string {
  const n = (v: number): string => v.toLocaleString('en-US');
  const s = r.sinceStart;
  return `${n(r.handshakes)} TLS handshakes (${n(r.connections)} new connections) for ${n(r.requests)} requests over the load; since start ${n(s.handshakes)} handshakes for ${n(s.requests)} requests (server side: ${n(s.serverHandshakes)})`;
}
