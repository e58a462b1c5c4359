/**
 * Istio's TCP metadata exchange (the `istio-peer-exchange` ALPN): right after the TLS
 * handshake each side writes an 8-byte header (magic 0x3D230467 and the payload's length, both
 * uint32 big-endian) then a serialized `google.protobuf.Any` of type
 * `type.googleapis.com/google.protobuf.Struct` whose Struct holds `x-envoy-peer-metadata` (the
 * same Struct the HTTP exchange carries) and `x-envoy-peer-metadata-id` (the node id). The
 * reader takes the peer's preamble off the front of the stream and hands the bytes after it to
 * the TCP proxy. Only for connections whose negotiated ALPN is `istio-peer-exchange`.
 */
import { anyType, structType } from '@minimesh/api';
import { structToJson } from '@minimesh/config';
import { PEER_EXCHANGE_ALPN } from '@minimesh/mesh';
import { peerFromStructJson, peerStructMessage, type WorkloadPeer } from './workload-peer.js';

export { PEER_EXCHANGE_ALPN };
export const EXCHANGE_MAGIC = 0x3d230467;
const HEADER_BYTES = 8;
const STRUCT_URL = 'type.googleapis.com/google.protobuf.Struct';
/** A peer's preamble larger than this is not metadata: the exchange fails (Envoy caps it too). */
export const MAX_EXCHANGE_BYTES = 64 * 1024;

/** The bytes one side writes first: header, then the Any-wrapped Struct. */
export function encodeTcpExchange(peer: WorkloadPeer, nodeId: string): Buffer {
  const struct = structType();
  const any = anyType();
  const value = struct.encode(
    struct.fromObject({ fields: { 'x-envoy-peer-metadata': { structValue: peerStructMessage(peer) }, 'x-envoy-peer-metadata-id': { stringValue: nodeId } } }),
  ).finish();
  const payload = any.encode(any.fromObject({ type_url: STRUCT_URL, value })).finish();
  const header = Buffer.alloc(HEADER_BYTES);
  header.writeUInt32BE(EXCHANGE_MAGIC, 0);
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

export type ExchangeRead =
  | { readonly state: 'more' }
  | { readonly state: 'done'; readonly peer: WorkloadPeer | undefined; readonly nodeId: string; readonly rest: Buffer }
  | { readonly state: 'failed'; readonly reason: string };

/** Reads the peer's preamble from the bytes as they arrive. */
export class TcpExchangeReader {
  private buf: Buffer = Buffer.alloc(0);

  /** Every byte fed so far (what goes on, untouched, when the exchange fails). */
  get pending(): Buffer {
    return this.buf;
  }

  feed(chunk: Buffer): ExchangeRead {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    if (this.buf.length < HEADER_BYTES) return { state: 'more' };
    const magic = this.buf.readUInt32BE(0);
    if (magic !== EXCHANGE_MAGIC) return { state: 'failed', reason: `bad magic 0x${magic.toString(16)}` };
    const length = this.buf.readUInt32BE(4);
    if (length > MAX_EXCHANGE_BYTES) return { state: 'failed', reason: `metadata of ${length} bytes is over ${MAX_EXCHANGE_BYTES}` };
    if (this.buf.length < HEADER_BYTES + length) return { state: 'more' };
    const payload = this.buf.subarray(HEADER_BYTES, HEADER_BYTES + length);
    const rest = this.buf.subarray(HEADER_BYTES + length);
    try {
      const any = anyType();
      const a = any.toObject(any.decode(payload)) as { type_url?: string; value?: Uint8Array };
      if (a.type_url !== STRUCT_URL || a.value === undefined) return { state: 'failed', reason: `unexpected type ${a.type_url ?? '(none)'}` };
      const struct = structType();
      const json = structToJson(struct.toObject(struct.decode(a.value), { oneofs: true }));
      const md = json['x-envoy-peer-metadata'];
      const id = json['x-envoy-peer-metadata-id'];
      const peer = md !== null && typeof md === 'object' ? peerFromStructJson(md as Record<string, unknown>) : undefined;
      return { state: 'done', peer, nodeId: typeof id === 'string' ? id : '', rest: Buffer.from(rest) };
    } catch (e) {
      return { state: 'failed', reason: `undecodable metadata: ${(e as Error).message}` };
    }
  }
}
