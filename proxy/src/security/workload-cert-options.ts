/**
 * The workload certificate's settings, apart from the agent (which loads the X.509 and gRPC
 * libraries only when a proxy asks for a certificate).
 */
import { ISTIO_TOKEN_MOUNT_PATH } from '@minimesh/mesh';

/** Where Istio's injector mounts the pod's projected token (audience istio-ca). */
export const ISTIO_TOKEN_FILE = `${ISTIO_TOKEN_MOUNT_PATH}/istio-token`;
/** istio-agent's SECRET_TTL default. */
export const DEFAULT_CERT_TTL_S = 24 * 60 * 60;

/** Seconds of a Go duration (`24h`, `90m`, `5s`, `1h30m`) or a plain number of seconds; undefined when malformed or not positive. */
export function parseTtlSeconds(text: string): number | undefined {
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) > 0 ? Number(text) : undefined;
  if (!/^(\d+(\.\d+)?(h|m|s|ms))+$/.test(text)) return undefined;
  let ms = 0;
  for (const m of text.matchAll(/(\d+(?:\.\d+)?)(h|ms|m|s)/g)) ms += Number(m[1]) * (m[2] === 'h' ? 3_600_000 : m[2] === 'm' ? 60_000 : m[2] === 's' ? 1000 : 1);
  return ms >= 1000 ? Math.round(ms / 1000) : undefined;
}
