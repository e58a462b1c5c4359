/**
 * The one place that decides what a DiscoveryRequest means and whether it gets a response
 * (the rules of Envoy's xds_protocol doc; Istio's `ShouldRespond` plays the same part).
 * Pure: it reads the request and what this stream last sent for the request's type.
 */

/** What one stream remembers about one type URL. */
export interface StreamTypeState {
  /** Nonce of the last response sent for this type on this stream (undefined: none yet). */
  readonly lastNonce: string | undefined;
  /** resource_names of the last request taken for this type (undefined: no request yet). */
  readonly names: readonly string[] | undefined;
}

/** The fields of a DiscoveryRequest the decision reads. */
export interface RequestFacts {
  readonly response_nonce?: string;
  readonly resource_names?: readonly string[];
  readonly error_detail?: { readonly message?: string } | null;
}

export type RequestKind =
  /** No nonce: the first request for the type on this stream (new stream or reconnect). */
  | 'initial'
  /** Nonce is not the last one sent: an answer to an older response. Ignored. */
  | 'stale'
  /** Current nonce and error_detail: the client rejected the last response (NACK). */
  | 'nack'
  /** Current nonce, no error, same names: the client applied the last response (ACK). */
  | 'ack'
  /** Current nonce, no error, but other resource_names: an ACK that also changes the subscription. */
  | 'resubscribe';

export interface Decision {
  readonly kind: RequestKind;
  /** Send the current resources of this type now. */
  readonly respond: boolean;
}

export function shouldRespond(req: RequestFacts, state: StreamTypeState): Decision {
  const nonce = req.response_nonce ?? '';
  // 1. No nonce: the client has not seen a response of this type on this stream. It may carry
  //    the version it holds from an earlier stream; the server answers anyway with what it has
  //    now (state of the world), which the client may find identical and simply ACK.
  if (nonce === '') return { kind: 'initial', respond: true };
  // 2. A nonce other than the last sent (or one we never sent, e.g. from before a server
  //    restart): the client is answering an outdated response; a newer one is on its way or
  //    was answered already. Never respond to it, or responses would multiply.
  if (state.lastNonce === undefined || nonce !== state.lastNonce) return { kind: 'stale', respond: false };
  // 3. NACK: the client keeps its previous config. Sending the same resources again would
  //    only be rejected again: wait for the next snapshot instead.
  if (req.error_detail != null) return { kind: 'nack', respond: false };
  // 4. ACK. If the names asked for changed (RDS/EDS follow the listeners and clusters the
  //    client just took), this is also a new subscription and gets a response.
  if (!sameNames(req.resource_names ?? [], state.names ?? [])) return { kind: 'resubscribe', respond: true };
  return { kind: 'ack', respond: false };
}

/** Set equality of two name lists (order and duplicates do not matter). */
export function sameNames(a: readonly string[], b: readonly string[]): boolean {
  const sa = new Set(a);
  const sb = new Set(b);
  if (sa.size !== sb.size) return false;
  for (const n of sa) if (!sb.has(n)) return false;
  return true;
}
