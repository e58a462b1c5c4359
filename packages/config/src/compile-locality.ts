/** A `LocalityLbEndpoints` entry's `locality`, `priority` and `load_balancing_weight` -> the fields its endpoints carry. */
import type { ClusterLoadAssignment } from '@minimesh/api';
import { allowOnly, join, type Errors } from './errors.js';
import { wrapped } from './duration.js';
import type { LocalityRt } from './locality-runtime.js';

type LocalityLbEndpoints = NonNullable<ClusterLoadAssignment['endpoints']>[number];

/** Envoy caps priorities at 128 levels; a higher number is a mistake rather than a plan. */
const MAX_PRIORITY = 127;

export interface EndpointPlace {
  priority?: number;
  locality?: LocalityRt;
  localityWeight?: number;
}

export function compileLocalityOf(lle: LocalityLbEndpoints, path: string, errors: Errors): EndpointPlace {
  const out: EndpointPlace = {};
  const priority = lle.priority ?? 0;
  if (!Number.isInteger(priority) || priority < 0 || priority > MAX_PRIORITY) errors.add(join(path, 'priority'), `must be an integer 0..${MAX_PRIORITY}, not ${JSON.stringify(lle.priority)}`);
  else if (priority > 0) out.priority = priority;
  const l = lle.locality;
  if (l) {
    allowOnly(l, join(path, 'locality'), ['region', 'zone', 'sub_zone'], errors);
    out.locality = { region: l.region ?? '', zone: l.zone ?? '', subZone: l.sub_zone ?? '' };
  }
  if (lle.load_balancing_weight) {
    const w = wrapped(lle.load_balancing_weight, 0);
    if (w < 1) errors.add(join(path, 'load_balancing_weight'), 'must be at least 1');
    else out.localityWeight = w;
  }
  return out;
}
