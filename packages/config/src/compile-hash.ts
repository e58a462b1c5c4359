/** RouteAction `hash_policy` and Cluster `ring_hash_lb_config` / `maglev_lb_config`. */
import type { Cluster, RouteAction } from '@minimesh/api';
import { allowOnly, join, type Errors } from './errors.js';
import { durationMs, wrapped } from './duration.js';
import type { HashLbRt, HashPolicyRt } from './hash-runtime.js';

const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/;

export function compileHashPolicies(policies: RouteAction['hash_policy'] | null | undefined, path: string, errors: Errors): readonly HashPolicyRt[] | undefined {
  if (!policies || policies.length === 0) return undefined;
  const out: HashPolicyRt[] = [];
  policies.forEach((p, i) => {
    const pp = `${path}[${i}]`;
    allowOnly(p, pp, ['header', 'cookie', 'connection_properties', 'query_parameter', 'terminal'], errors, ['policy_specifier'], { filter_state: 'filter_state hashing is not supported by minimesh' });
    const terminal = p.terminal === true;
    switch (p.policy_specifier) {
      case 'header': {
        allowOnly(p.header, join(pp, 'header'), ['header_name'], errors, [], { regex_rewrite: 'regex_rewrite is not supported by minimesh yet' });
        const name = (p.header?.header_name ?? '').toLowerCase();
        if (!HEADER_NAME.test(name)) errors.add(join(pp, 'header.header_name'), `must be a header name, not ${JSON.stringify(p.header?.header_name ?? '')}`);
        out.push({ kind: 'header', name, terminal });
        break;
      }
      case 'cookie': {
        const c = p.cookie!;
        allowOnly(c, join(pp, 'cookie'), ['name', 'ttl', 'path'], errors, [], { attributes: 'cookie attributes are not supported by minimesh yet' });
        if (!c.name) errors.add(join(pp, 'cookie.name'), 'must not be empty');
        out.push({ kind: 'cookie', name: c.name ?? '', ttlMs: c.ttl ? durationMs(c.ttl, 0, join(pp, 'cookie.ttl'), errors) : undefined, path: c.path ?? '', terminal });
        break;
      }
      case 'connection_properties':
        if (p.connection_properties?.source_ip !== true) errors.add(join(pp, 'connection_properties.source_ip'), 'must be true');
        out.push({ kind: 'source_ip', terminal });
        break;
      case 'query_parameter':
        if (!p.query_parameter?.name) errors.add(join(pp, 'query_parameter.name'), 'must not be empty');
        out.push({ kind: 'query', name: p.query_parameter?.name ?? '', terminal });
        break;
      default:
        if (p.policy_specifier === undefined) errors.add(pp, 'one of header, cookie, connection_properties, query_parameter is required');
    }
  });
  return out;
}

/** The hash balancer's settings, for RING_HASH and MAGLEV clusters (undefined for others). */
export function compileHashLb(c: Cluster, path: string, errors: Errors): HashLbRt | undefined {
  if (c.ring_hash_lb_config && c.lb_policy !== 'RING_HASH') errors.add(join(path, 'ring_hash_lb_config'), 'needs lb_policy RING_HASH');
  if (c.maglev_lb_config && c.lb_policy !== 'MAGLEV') errors.add(join(path, 'maglev_lb_config'), 'needs lb_policy MAGLEV');
  if (c.lb_policy === 'RING_HASH') {
    const r = c.ring_hash_lb_config;
    const rp = join(path, 'ring_hash_lb_config');
    allowOnly(r, rp, ['minimum_ring_size', 'maximum_ring_size', 'hash_function'], errors);
    const minRingSize = Number(wrapped(r?.minimum_ring_size as { value?: number | string } | undefined, 1024));
    const maxRingSize = Number(wrapped(r?.maximum_ring_size as { value?: number | string } | undefined, 8_388_608));
    if (minRingSize < 1 || minRingSize > 8_388_608) errors.add(join(rp, 'minimum_ring_size'), 'must be 1..8388608');
    if (maxRingSize < minRingSize) errors.add(join(rp, 'maximum_ring_size'), 'must not be less than minimum_ring_size');
    return { kind: 'ring', minRingSize, maxRingSize: Math.min(maxRingSize, 8_388_608) };
  }
  if (c.lb_policy === 'MAGLEV') {
    const m = c.maglev_lb_config;
    const mp = join(path, 'maglev_lb_config');
    allowOnly(m, mp, ['table_size'], errors);
    const tableSize = Number(wrapped(m?.table_size as { value?: number | string } | undefined, 65_537));
    if (!isPrime(tableSize) || tableSize > 5_000_011) errors.add(join(mp, 'table_size'), `must be a prime number up to 5000011, not ${tableSize}`);
    return { kind: 'maglev', tableSize };
  }
  return undefined;
}

function isPrime(n: number): boolean {
  if (!Number.isInteger(n) || n < 2) return false;
  for (let d = 2; d * d <= n; d++) if (n % d === 0) return false;
  return true;
}
