/**
 * The Sidecar's listener fields: `egress[].port`, `bind`, `captureMode` and `ingress[]`.
 * minimesh honours `egress[].port` (the listener's hosts scope that port only), `egress[].bind`
 * and `captureMode: NONE` without capture (a listener bound to bind:port), and `ingress`
 * (inbound ports with their `defaultEndpoint` replace the derived ones); what cannot apply
 * is warned with the reason (here, or per proxy by the control plane).
 */
import { at, checkFields, checkInt, checkString } from './check.js';
import type { IssueCollector } from './issues.js';
import { parseProtocol } from './protocol.js';

const CAPTURE_MODES = ['DEFAULT', 'IPTABLES', 'NONE'];
const IP_PORT = /^(?:\[[0-9a-fA-F:.]+\]|\d{1,3}(?:\.\d{1,3}){3}):\d{1,5}$/;

/** `port: {number, protocol, name}` of an egress or ingress listener. */
function checkSidecarPort(c: IssueCollector, v: unknown, path: string, required: boolean): void {
  if (v === undefined) {
    if (required) c.error(path, 'is required');
    return;
  }
  if (!checkFields(c, v, path, ['number', 'protocol', 'name', 'targetPort'])) return;
  checkInt(c, v.number, at(path, 'number'), 1, 65535, true);
  if (checkString(c, v.protocol, at(path, 'protocol')) && parseProtocol(v.protocol) === 'Unsupported') c.warn(at(path, 'protocol'), `${JSON.stringify(v.protocol)} is not a protocol Istio knows: the port is sniffed`);
  checkString(c, v.name, at(path, 'name'));
}

function checkCaptureMode(c: IssueCollector, v: unknown, path: string): void {
  if (!checkString(c, v, path)) return;
  if (!CAPTURE_MODES.includes(v)) return c.error(path, `must be one of ${CAPTURE_MODES.join(', ')} (got ${JSON.stringify(v)})`);
  if (v !== 'DEFAULT') c.warn(path, `${v} is not per listener in minimesh: the proxy's own capture (iptables, or the local mesh's forward proxy) applies to every port`);
}

/** One `egress[]` entry's port, bind and captureMode (its hosts are checked by the caller). */
export function checkEgressListener(c: IssueCollector, e: Record<string, unknown>, path: string): void {
  checkSidecarPort(c, e.port, at(path, 'port'), false);
  if (checkString(c, e.bind, at(path, 'bind'))) {
    if (e.port === undefined) c.error(at(path, 'bind'), 'needs port (a bind address names a listener on one port)');
    if (e.bind.startsWith('unix://')) c.warn(at(path, 'bind'), 'unix domain sockets are not supported by minimesh: this egress listener is not opened');
  }
  // Egress: without capture (the local mesh) bind / NONE open a listener on bind:port; under capture they are warned per proxy.
  if (checkString(c, e.captureMode, at(path, 'captureMode')) && !CAPTURE_MODES.includes(e.captureMode)) c.error(at(path, 'captureMode'), `must be one of ${CAPTURE_MODES.join(', ')} (got ${JSON.stringify(e.captureMode)})`);
  else if (e.captureMode === 'IPTABLES') c.warn(at(path, 'captureMode'), 'IPTABLES is not per listener in minimesh: the proxy\'s own capture applies to every port');
}

/** `ingress[]`: port (required), defaultEndpoint, bind, captureMode; tls and connectionPool are not translated. */
export function checkIngressListeners(c: IssueCollector, v: unknown[], path: string): void {
  const seen = new Set<number>();
  v.forEach((e, i) => {
    const ip = at(path, i);
    if (!checkFields(c, e, ip, ['port', 'bind', 'captureMode', 'defaultEndpoint'], ['tls', 'connectionPool'])) return c.error(ip, 'must be an object');
    checkSidecarPort(c, e.port, at(ip, 'port'), true);
    const n = (e.port as { number?: unknown } | undefined)?.number;
    if (typeof n === 'number') {
      if (seen.has(n)) c.error(at(at(ip, 'port'), 'number'), `port ${n} is declared by an earlier ingress listener`);
      seen.add(n);
    }
    if (checkString(c, e.defaultEndpoint, at(ip, 'defaultEndpoint'))) {
      const ep = e.defaultEndpoint;
      if (ep.startsWith('unix://')) c.warn(at(ip, 'defaultEndpoint'), 'unix domain sockets are not supported by minimesh (its proxy dials TCP): this ingress listener is left out');
      else if (!IP_PORT.test(ep)) c.error(at(ip, 'defaultEndpoint'), `must be IP:PORT (127.0.0.1:PORT, 0.0.0.0:PORT) or unix:///path (got ${JSON.stringify(ep)})`);
    }
    checkString(c, e.bind, at(ip, 'bind'));
    checkCaptureMode(c, e.captureMode, at(ip, 'captureMode'));
  });
}
