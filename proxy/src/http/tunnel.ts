/**
 * The byte relay of an upgraded connection (WebSocket and other upgrades, after the upstream
 * answered 101, or 200 to an extended CONNECT): the client's side and the upstream's side (a
 * socket, or an HTTP/2 stream when that hop is HTTP/2) are joined,
 * and bytes flow both ways unparsed, with flow control (a full side pauses the other),
 * half-close carried across (an end on one side ends the other's writing half), and an
 * idle timeout over both directions. When both sockets are closed, `onDone` reports the
 * bytes moved and why it ended.
 */
import type { Duplex } from 'node:stream';

/** `aborted`: the stream was ended from outside (its max stream duration). */
export type TunnelEndReason = 'closed' | 'idle-timeout' | 'aborted';

/** A side of a tunnel: a socket, or an HTTP/2 stream (both have their own inactivity timer, switched off here). */
export type TunnelSocket = Duplex & { setTimeout(ms: number): unknown };

/** A running tunnel. */
export interface TunnelHandle {
  /** Ends the tunnel now: both sides are destroyed (reason `aborted`). */
  abort(): void;
}

export interface TunnelResult {
  /** Bytes from the client to the upstream. */
  readonly bytesUp: number;
  /** Bytes from the upstream to the client. */
  readonly bytesDown: number;
  readonly reason: TunnelEndReason;
}

export interface TunnelSide {
  readonly socket: TunnelSocket;
  /** Bytes read before the tunnel started (after the HTTP head), to send on first. */
  readonly pending: Buffer | null;
}

/** Joins `down` (the client) and `up` (the upstream); `idleTimeoutMs` 0: no idle timeout. */
export function startTunnel(down: TunnelSide, up: TunnelSide, idleTimeoutMs: number, onDone: (r: TunnelResult) => void): TunnelHandle {
  let bytesUp = 0;
  let bytesDown = 0;
  let reason: TunnelEndReason = 'closed';
  let lastActivity = Date.now();
  let open = 2;
  let timer: NodeJS.Timeout | null = null;
  const a = down.socket;
  const b = up.socket;

  const closed = (): void => {
    open--;
    if (open > 0) return;
    if (timer !== null) clearTimeout(timer);
    timer = null;
    onDone({ bytesUp, bytesDown, reason });
  };

  /** Relays `from` into `to`; `count` adds to the direction's byte total. */
  const pipe = (from: TunnelSocket, to: TunnelSocket, count: (n: number) => void): void => {
    from.allowHalfOpen = true;
    from.setTimeout(0);
    from.on('error', () => {});
    from.on('data', (d: Buffer) => {
      lastActivity = Date.now();
      count(d.length);
      if (!to.destroyed && !to.write(d)) from.pause();
    });
    to.on('drain', () => {
      if (!from.destroyed) from.resume();
    });
    // Half-close: the end of one side's reading ends the other side's writing.
    from.on('end', () => {
      if (!to.destroyed) to.end();
      if (from.writableEnded) from.destroy();
    });
    from.on('close', () => {
      if (!to.destroyed) to.destroy();
      closed();
    });
  };

  pipe(a, b, (n) => (bytesUp += n));
  pipe(b, a, (n) => (bytesDown += n));
  // A side that finished writing after its peer's end closes once its own reading has ended.
  a.on('finish', () => {
    if (a.readableEnded) a.destroy();
  });
  b.on('finish', () => {
    if (b.readableEnded) b.destroy();
  });

  if (down.pending !== null && down.pending.length > 0) {
    bytesUp += down.pending.length;
    b.write(down.pending);
  }
  if (up.pending !== null && up.pending.length > 0) {
    bytesDown += up.pending.length;
    a.write(up.pending);
  }
  // Either socket may have been paused by its codec (flow control) before the upgrade.
  a.resume();
  b.resume();

  if (idleTimeoutMs > 0) {
    const check = (): void => {
      timer = null;
      const left = idleTimeoutMs - (Date.now() - lastActivity);
      if (left > 0) {
        timer = setTimeout(check, left);
        return;
      }
      reason = 'idle-timeout';
      a.destroy();
      b.destroy();
    };
    timer = setTimeout(check, idleTimeoutMs);
  }
  // A socket already closed before the tunnel started (its 'close' was missed).
  for (const [s, other] of [[a, b], [b, a]] as const) {
    if (s.closed) {
      other.destroy();
      closed();
    } else if (s.destroyed) other.destroy();
  }
  return {
    abort: () => {
      if (open === 0) return;
      reason = 'aborted';
      a.destroy();
      b.destroy();
    },
  };
}
