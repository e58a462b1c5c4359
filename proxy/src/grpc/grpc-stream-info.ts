/**
 * What a gRPC request's stream tracks for the metrics: its messages each way and the
 * gRPC status it ended with. Allocated only for gRPC requests.
 */
import { GrpcMessageCounter } from './grpc-message-counter.js';

export class GrpcStreamInfo {
  readonly requestMessages = new GrpcMessageCounter();
  readonly responseMessages = new GrpcMessageCounter();
  /** The `grpc-status` of the response (trailers-only headers, trailers, or a local reply); -1 unknown. */
  status = -1;
}
