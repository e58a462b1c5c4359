/** The proxy's own log (not the access log): pino, JSON lines on stderr as Envoy logs there. */
import pino from 'pino';

export const log = pino(
  { name: 'minimesh-proxy', level: process.env.MINIMESH_LOG_LEVEL ?? 'info', base: { pid: process.pid } },
  pino.destination({ dest: 2, sync: true }),
);
