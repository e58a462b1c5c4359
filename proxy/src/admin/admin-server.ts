/**
 * Envoy's admin API on 127.0.0.1:15000 (loopback only, as in Istio): /ready, /config_dump,
 * /clusters, /listeners, /stats, /stats/prometheus, /server_info, and POST /quitquitquit.
 * Plain node:http: this is not the hot path.
 */
import http from 'node:http';
import type { Proxy } from '../proxy.js';
import { renderClusters, renderClustersJson } from './clusters-text.js';
import { startEventLoopDelay } from '../observability/event-loop-delay.js';

const HELP = `admin commands are:
  /: this help
  /clusters: upstream cluster status (?format=json)
  /config_dump: dump current Envoy configs
  /listeners: print listener info (?format=json)
  /ready: print server state, return 200 if LIVE, otherwise return 503
  /server_info: print server version/status information
  /stats: print server stats (?filter=REGEX, ?format=json|prometheus)
  /stats/prometheus: print server stats in prometheus format
  /quitquitquit (POST): drain and exit
  /drain_listeners (POST): the listeners stop accepting (?inboundonly: the inbound ones)
`;

function send(res: http.ServerResponse, status: number, body: string, type = 'text/plain; charset=UTF-8'): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-cache, max-age=0', 'x-content-type-options': 'nosniff' });
  res.end(body);
}

export function serverState(proxy: Proxy): 'LIVE' | 'DRAINING' | 'PRE_INITIALIZING' {
  return proxy.draining ? 'DRAINING' : proxy.ready ? 'LIVE' : 'PRE_INITIALIZING';
}

export function createAdminServer(proxy: Proxy, onQuit: () => void): http.Server {
  startEventLoopDelay();
  return http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://admin');
    const format = url.searchParams.get('format');
    const path = url.pathname;
    if (path === '/quitquitquit') {
      if (req.method !== 'POST') return send(res, 405, 'This endpoint requires POST.\n');
      send(res, 200, 'OK\n');
      onQuit();
      return;
    }
    if (path === '/drain_listeners') {
      if (req.method !== 'POST') return send(res, 405, 'This endpoint requires POST.\n');
      proxy.drainListeners(url.searchParams.has('inboundonly'));
      return send(res, 200, 'OK\n');
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'Method not allowed.\n');
    switch (path) {
      case '/':
      case '/help':
        return send(res, 200, HELP);
      case '/ready': {
        const state = serverState(proxy);
        return send(res, state === 'LIVE' ? 200 : 503, `${state}\n`);
      }
      case '/server_info':
        return send(
          res,
          200,
          JSON.stringify(
            {
              version: 'minimesh/0.1.0',
              state: serverState(proxy),
              uptime_current_epoch: `${Math.floor((Date.now() - proxy.stats.server.uptime_start) / 1000)}s`,
              node: proxy.config?.node ?? {},
              command_line_options: { drain_time: `${proxy.options.drainTimeMs / 1000}s` },
            },
            null,
            2,
          ),
          'application/json',
        );
      case '/config_dump':
        return send(res, 200, JSON.stringify(proxy.configDump, null, 2), 'application/json');
      case '/clusters':
        if (format === 'json') return send(res, 200, JSON.stringify(renderClustersJson(proxy), null, 2), 'application/json');
        return send(res, 200, renderClusters(proxy));
      case '/listeners': {
        const ls = proxy.boundListeners().map((l) => ({ name: l.name, local_address: { socket_address: { address: l.address, port_value: l.port } } }));
        if (format === 'json') return send(res, 200, JSON.stringify({ listener_statuses: ls }, null, 2), 'application/json');
        return send(res, 200, ls.map((l) => `${l.name}::${l.local_address.socket_address.address}:${l.local_address.socket_address.port_value}`).join('\n') + '\n');
      }
      case '/stats': {
        if (format === 'prometheus') return void proxy.statsView.prometheus().then((text) => send(res, 200, text, 'text/plain; version=0.0.4'));
        let filter: RegExp | undefined;
        const f = url.searchParams.get('filter');
        if (f !== null && f !== '') {
          try {
            filter = new RegExp(f);
          } catch (e) {
            return send(res, 400, `Invalid re2 regex: ${(e as Error).message}\n`);
          }
        }
        return void proxy.statsView.text(filter).then((text) => {
          if (format !== 'json') return send(res, 200, text);
          const stats = text
            .trim()
            .split('\n')
            .filter((l) => l !== '')
            .map((l) => {
              const i = l.indexOf(': ');
              return { name: l.slice(0, i), value: Number(l.slice(i + 2)) };
            });
          return send(res, 200, JSON.stringify({ stats }, null, 2), 'application/json');
        });
      }
      case '/stats/prometheus':
        return void proxy.statsView.prometheus().then((text) => send(res, 200, text, 'text/plain; version=0.0.4'));
      default:
        return send(res, 404, `invalid path. ${HELP}`);
    }
  });
}
