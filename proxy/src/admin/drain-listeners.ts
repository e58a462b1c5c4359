/**
 * Envoy's `POST /drain_listeners[?inboundonly]`: the listeners (only the inbound ones with
 * `inboundonly`, as Istio's agent asks at shutdown) stop accepting; their connections close
 * after the response in flight. The proxy keeps running (its admin API, its other listeners).
 */
import type { ListenerRt } from '@minimesh/config/runtime';

/** A listener's `traffic_direction`, from what its config kept (UNSPECIFIED counts as OUTBOUND). */
export function listenerDirection(l: ListenerRt): 'INBOUND' | 'OUTBOUND' {
  return l.capture?.direction ?? l.hcm?.direction ?? l.filterChains?.find((c) => c.hcm !== undefined)?.hcm?.direction ?? 'OUTBOUND';
}

/** Starts draining the listeners (not awaited: connections may take the drain time). */
export function drainListeners(listeners: Iterable<{ readonly config: ListenerRt; drain(): Promise<void> }>, inboundOnly: boolean): number {
  let n = 0;
  for (const l of listeners) {
    if (inboundOnly && listenerDirection(l.config) !== 'INBOUND') continue;
    void l.drain();
    n++;
  }
  return n;
}
