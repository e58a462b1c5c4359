/**
 * `telemetry.istio.io` Telemetry: the shape checked, and what minimesh does not honour named.
 * Honoured: `selector`, `metrics` (the `prometheus` provider: `overrides` that disable a metric
 * or remove / upsert tags, per mode) and `accessLogging` (the `envoy` provider: on or off per
 * mode). Reported by name and ignored: `tracing`, `targetRef(s)`, `metrics[].reportingInterval`,
 * `accessLogging[].filter`, custom metrics and other providers.
 */
import { at, checkArray, checkFields, checkLabels, checkString, isObject } from './check.js';
import type { IssueCollector } from './issues.js';

export const TELEMETRY_METRICS = ['ALL_METRICS', 'REQUEST_COUNT', 'REQUEST_DURATION', 'REQUEST_SIZE', 'RESPONSE_SIZE', 'TCP_OPENED_CONNECTIONS', 'TCP_CLOSED_CONNECTIONS', 'TCP_SENT_BYTES', 'TCP_RECEIVED_BYTES', 'GRPC_REQUEST_MESSAGES', 'GRPC_RESPONSE_MESSAGES'];
const MODES = ['CLIENT', 'SERVER', 'CLIENT_AND_SERVER'];
/** The providers minimesh runs: Istio's default Prometheus metrics, Envoy's stdout access log. */
export const METRICS_PROVIDER = 'prometheus';
export const ACCESS_LOG_PROVIDER = 'envoy';

function checkMode(c: IssueCollector, v: unknown, path: string): void {
  if (v !== undefined && !MODES.includes(v as string)) c.error(path, `must be one of ${MODES.join(', ')} (got ${JSON.stringify(v)})`);
}

function checkProviders(c: IssueCollector, v: unknown, path: string, supported: string): void {
  if (!checkArray(c, v, path)) return;
  v.forEach((p, i) => {
    const pp = at(path, i);
    if (!checkFields(c, p, pp, ['name'])) return;
    if (checkString(c, p.name, at(pp, 'name'), true) && p.name !== supported) c.warn(at(pp, 'name'), `provider ${JSON.stringify(p.name)} is not run by minimesh (only ${supported}); nothing is sent to it`);
  });
}

function checkOverride(c: IssueCollector, o: unknown, path: string): void {
  if (!checkFields(c, o, path, ['match', 'disabled', 'tagOverrides'])) return;
  if (o.match !== undefined && checkFields(c, o.match, at(path, 'match'), ['metric', 'customMetric', 'mode'])) {
    const m = o.match;
    if (m.metric !== undefined && !TELEMETRY_METRICS.includes(m.metric as string)) c.error(at(at(path, 'match'), 'metric'), `unknown metric ${JSON.stringify(m.metric)} (one of ${TELEMETRY_METRICS.join(', ')})`);
    else if (typeof m.metric === 'string' && m.metric.startsWith('GRPC_')) c.warn(at(at(path, 'match'), 'metric'), `${m.metric} is not recorded by minimesh yet (no gRPC); ignored`);
    if (m.customMetric !== undefined) c.warn(at(at(path, 'match'), 'customMetric'), 'custom metrics are not honoured by minimesh; ignored');
    checkMode(c, m.mode, at(at(path, 'match'), 'mode'));
  }
  if (o.disabled !== undefined && typeof o.disabled !== 'boolean') c.error(at(path, 'disabled'), 'must be true or false');
  if (o.tagOverrides === undefined) return;
  if (!isObject(o.tagOverrides)) return c.error(at(path, 'tagOverrides'), 'must be a map of label name to {operation, value}');
  for (const [tag, t] of Object.entries(o.tagOverrides)) {
    const tp = at(at(path, 'tagOverrides'), tag);
    if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(tag) || tag === 'le' || tag.startsWith('__')) c.error(tp, 'not a valid Prometheus label name (le and names starting with __ are reserved)');
    if (!checkFields(c, t, tp, ['operation', 'value'])) continue;
    const op = t.operation ?? 'UPSERT';
    if (op !== 'UPSERT' && op !== 'REMOVE') c.error(at(tp, 'operation'), `must be UPSERT or REMOVE (got ${JSON.stringify(op)})`);
    if (op === 'UPSERT' && !checkString(c, t.value, at(tp, 'value'), true)) continue;
  }
}

export function validateTelemetrySpec(c: IssueCollector, spec: unknown): void {
  if (spec === undefined) return;
  if (!checkFields(c, spec, 'spec', ['selector', 'metrics', 'accessLogging'], ['tracing', 'targetRef', 'targetRefs'])) return;
  if (spec.selector !== undefined && checkFields(c, spec.selector, 'spec.selector', ['matchLabels']) && spec.selector.matchLabels !== undefined) {
    checkLabels(c, spec.selector.matchLabels, 'spec.selector.matchLabels');
  }
  if (checkArray(c, spec.metrics, 'spec.metrics')) {
    spec.metrics.forEach((m, i) => {
      const mp = at('spec.metrics', i);
      if (!checkFields(c, m, mp, ['providers', 'overrides'], ['reportingInterval'])) return;
      checkProviders(c, m.providers, at(mp, 'providers'), METRICS_PROVIDER);
      if (checkArray(c, m.overrides, at(mp, 'overrides'))) m.overrides.forEach((o, j) => checkOverride(c, o, at(at(mp, 'overrides'), j)));
    });
  }
  if (checkArray(c, spec.accessLogging, 'spec.accessLogging')) {
    spec.accessLogging.forEach((a, i) => {
      const ap = at('spec.accessLogging', i);
      if (!checkFields(c, a, ap, ['providers', 'disabled', 'match'], ['filter'])) return;
      checkProviders(c, a.providers, at(ap, 'providers'), ACCESS_LOG_PROVIDER);
      if (a.disabled !== undefined && typeof a.disabled !== 'boolean') c.error(at(ap, 'disabled'), 'must be true or false');
      if (a.match !== undefined && checkFields(c, a.match, at(ap, 'match'), ['mode'])) checkMode(c, a.match.mode, at(at(ap, 'match'), 'mode'));
    });
  }
}
